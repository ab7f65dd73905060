// One search with an official JavaScript client, as an application makes it: a fresh client
// whose first request is the search. Prints the answer's body as JSON, or the client's error.
//   node search.mjs opensearch|es8|es9 URL INDEX BODY_JSON
import { Client as OpenSearch } from "@opensearch-project/opensearch";
import { Client as Elasticsearch8 } from "es8";
import { Client as Elasticsearch9 } from "es9";

const [client_name, url, index, body] = process.argv.slice(2);
const clients = { opensearch: OpenSearch, es8: Elasticsearch8, es9: Elasticsearch9 };
const client = new clients[client_name]({ node: url });
try {
  // opensearch-js takes the body whole; elasticsearch-js 8 and 9 its keys beside the index
  const search = JSON.parse(body);
  const answer = await client.search(
    client_name === "opensearch" ? { index, body: search } : { index, ...search },
  );
  // opensearch-js answers { body, statusCode, headers }; elasticsearch-js the body itself
  console.log(JSON.stringify(answer.body ?? answer));
} catch (error) {
  console.log(JSON.stringify({ client_error: `${error.name}: ${error.message}` }));
  process.exitCode = 1;
} finally {
  await client.close();
}
