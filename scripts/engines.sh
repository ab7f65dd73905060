#!/usr/bin/env bash
# Run real OpenSearch and Elasticsearch on loopback without Docker.
#
# Distributions and plugins come from Maven Central through `mvn` (cached in ~/.m2) and are
# unpacked under $ESRERANK_ENGINES_DIR. The engines refuse to run as root, so as root they run as
# an ordinary user ($ESRERANK_ENGINE_USER, created on demand) that owns their folders.
#
#   scripts/engines.sh fetch  [ENGINE...]   download + unpack + install plugins
#   scripts/engines.sh start  [ENGINE...]   fetch if needed, start, wait for yellow
#   scripts/engines.sh stop   [ENGINE...]   stop (pidfiles) and wait for exit
#   scripts/engines.sh status [ENGINE...]   root endpoint of each, or "down"
#   scripts/engines.sh kill-node ENGINE N   SIGKILL node N (1-3) of a cluster engine
#   scripts/engines.sh start-node ENGINE N  start node N again, with its data, and wait until
#                                           the cluster has all three nodes
#
# Engines: opensearch, elasticsearch (the default: both), opensearch-cluster and
# elasticsearch-cluster (three nodes of the same install on loopback, one cluster, each node its
# own HTTP and transport port, data and log folders under $ESRERANK_ENGINES_DIR/run; the first
# node's HTTP port is the cluster's URL), and secured: OpenSearch with the
# security plugin and k-NN, HTTPS only, on its own port. Each `start secured` makes a fresh CA and
# writes, readable by all, to $ESRERANK_ENGINES_DIR/run/secured-certs/: root-ca.pem (+ its key
# root-ca-key.pem), node.pem / node-key.pem (SAN localhost, 127.0.0.1), admin.pem / admin-key.pem
# (the admin DN, for securityadmin) and client.pem / client-key.pem (TLS client auth is optional;
# a client certificate authenticates as user esrerank-client, mapped to all_access, ahead of any
# basic credentials). Keys are PKCS#8. Internal users: admin ($ESRERANK_SECURED_PASSWORD,
# all_access) and reader (Esrerank-Reader-1, role esrerank_reader: GET /, searches, gets and
# mappings of every index; 403 on anything that creates or writes).
#   curl --cacert "$ESRERANK_ENGINES_DIR/run/secured-certs/root-ca.pem" \
#        -u admin:Esrerank-Admin-1 https://127.0.0.1:9203/
#
# Environment (defaults in brackets):
#   ESRERANK_OS_VERSION [2.19.6]   ESRERANK_ES_VERSION [8.19.21]
#   ESRERANK_OS_PORT [9201]        ESRERANK_ES_PORT [9202]
#   ESRERANK_ENGINES_DIR [~/.cache/esrerank/engines]   ESRERANK_ENGINE_USER [esrerank]
#   ESRERANK_HEAP [1g]             ESRERANK_START_TIMEOUT [240] seconds
#   ESRERANK_OS_CLUSTER_PORT [9221]   ESRERANK_ES_CLUSTER_PORT [9231]   the clusters' first
#       nodes' HTTP ports (the next two are the other nodes'; transport ports are these + 100)
#   ESRERANK_CLUSTER_HEAP [512m]   each cluster node's heap
#   ESRERANK_OS_KNN_VERSION [<os version>.0]
#   ESRERANK_OS_JAVA_HOME / ESRERANK_ES_JAVA_HOME   force a JDK (else picked per engine version)
#   ESRERANK_OS_NEURAL [1]   install the neural-search plugin (native hybrid query, search pipelines
#       with normalization-processor), org.opensearch.plugin:neural-search:<os version>.0:zip
#       from Maven Central; ESRERANK_OS_NEURAL_VERSION [<os version>.0] picks another version,
#       ESRERANK_OS_NEURAL_ZIP=/path/or/url.zip installs that zip instead of fetching one.
#   ESRERANK_OS_ML [1]   install ml-commons (opensearch-ml-plugin:<os version>.0:zip, ~380 MB) and
#       the job-scheduler it extends, set up so remote connectors may call loopback (neural-search's
#       rerank processor -> esrerank serve's /v1/rerank);
#       ESRERANK_OS_ML_VERSION [<os version>.0] picks another version of both.
#   ESRERANK_SECURED_VERSION [2.19.1]   the secured engine's OpenSearch; Maven Central has
#       opensearch-security zips for few versions (2.11.1, 2.19.1, 2.19.3, 2.19.4, 3.4.0)
#   ESRERANK_SECURED_PORT [9203]   ESRERANK_SECURED_PASSWORD [Esrerank-Admin-1] (user admin;
#       a new password reinstalls the secured engine, as its users live in its security index)
#   ESRERANK_MVN_ARGS   extra arguments for mvn (e.g. -Dmaven.repo.local=...)
#
# Notes: OpenSearch 2.x and Elasticsearch 8.x run on Java 17; 3.x / 9.x need Java 21+ (both were
# checked with OS 3.6.0 / ES 9.3.2 on Temurin 25). The Maven k-NN zip has no native libraries:
# map vectors with engine "lucene" only. The OpenSearch 2.x integ-test-zip has no lang-painless or
# reindex (POST /_reindex would answer 405): this script builds both modules from their Maven jars.
# The ES integ-test-zip has no painless, analysis-common, rank-rrf or rest-root; this script adds
# a small module that answers GET / .
set -euo pipefail

OS_VERSION="${ESRERANK_OS_VERSION:-2.19.6}"
ES_VERSION="${ESRERANK_ES_VERSION:-8.19.21}"
OS_KNN_VERSION="${ESRERANK_OS_KNN_VERSION:-${OS_VERSION}.0}"
OS_PORT="${ESRERANK_OS_PORT:-9201}"
ES_PORT="${ESRERANK_ES_PORT:-9202}"
OS_CLUSTER_PORT="${ESRERANK_OS_CLUSTER_PORT:-9221}"
ES_CLUSTER_PORT="${ESRERANK_ES_CLUSTER_PORT:-9231}"
CLUSTER_HEAP="${ESRERANK_CLUSTER_HEAP:-512m}"
CLUSTER_NODES=3
ENGINES_DIR="${ESRERANK_ENGINES_DIR:-$HOME/.cache/esrerank/engines}"
ENGINE_USER="${ESRERANK_ENGINE_USER:-esrerank}"
HEAP="${ESRERANK_HEAP:-1g}"
START_TIMEOUT="${ESRERANK_START_TIMEOUT:-240}"
OS_NEURAL="${ESRERANK_OS_NEURAL:-1}"
OS_NEURAL_ZIP="${ESRERANK_OS_NEURAL_ZIP:-}"
OS_NEURAL_VERSION="${ESRERANK_OS_NEURAL_VERSION:-${OS_VERSION}.0}"
OS_ML="${ESRERANK_OS_ML:-1}"
OS_ML_VERSION="${ESRERANK_OS_ML_VERSION:-${OS_VERSION}.0}"
SECURED_VERSION="${ESRERANK_SECURED_VERSION:-2.19.1}"
SECURED_PORT="${ESRERANK_SECURED_PORT:-9203}"
SECURED_PASSWORD="${ESRERANK_SECURED_PASSWORD:-Esrerank-Admin-1}"
READER_PASSWORD="Esrerank-Reader-1"
MVN_DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

RUN_DIR="$ENGINES_DIR/run"
OS_HOME="$ENGINES_DIR/opensearch-$OS_VERSION"
ES_HOME="$ENGINES_DIR/elasticsearch-$ES_VERSION"
SECURED_HOME="$ENGINES_DIR/opensearch-secured-$SECURED_VERSION"
CERTS_DIR="$RUN_DIR/secured-certs"

log() { echo "[engines] $*" >&2; }
die() { echo "[engines] ERROR: $*" >&2; exit 1; }
major() { echo "${1%%.*}"; }

# ---------------------------------------------------------------- prerequisites

APT_UPDATED=0
apt_install() {  # apt_install PKG... (root only, never interactive)
  [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null ||
    die "missing $*; install it (apt-get install $*) and retry"
  if [[ $APT_UPDATED -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need_cmd() {  # need_cmd COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null || apt_install "$2"
}

# java_major DIR -> major version of the JDK in DIR (empty if not a JDK)
java_major() {
  local v=""
  [[ -x "$1/bin/java" ]] || return 0
  if [[ -f "$1/release" ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release")
  fi
  if [[ -z "$v" ]]; then
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -1)
  fi
  [[ "$v" == 1 ]] && v=8
  echo "$v"
}

# find_java MIN MAX -> JDK home with the lowest major version in [MIN, MAX]
find_java() {
  local min=$1 max=$2 best="" best_v=999 d v
  for d in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [[ -d "$d" ]] || continue
    d=$(readlink -f "$d")
    v=$(java_major "$d")
    [[ -n "$v" ]] || continue
    if (( v >= min && v <= max && v < best_v )); then best=$d; best_v=$v; fi
  done
  echo "$best"
}

# java_for ENGINE VERSION -> JDK home for that engine version (installs Java 17 if needed)
java_for() {
  local engine=$1 version=$2 override min max jh
  if [[ $engine == opensearch ]]; then
    override="${ESRERANK_OS_JAVA_HOME:-}"
    # 1.x/2.x: Java 11..21 (they need the security manager, gone in Java 24); 3.x: Java 21+
    if (( $(major "$version") >= 3 )); then min=21 max=99; else min=11 max=23; fi
  else
    override="${ESRERANK_ES_JAVA_HOME:-}"
    if (( $(major "$version") >= 9 )); then min=21 max=99; else min=17 max=99; fi
  fi
  if [[ -n "$override" ]]; then echo "$override"; return; fi
  jh=$(find_java "$min" "$max")
  if [[ -z "$jh" && $min -le 17 && $max -ge 17 ]]; then
    apt_install openjdk-17-jdk-headless
    jh=$(find_java "$min" "$max")
  fi
  [[ -n "$jh" ]] || die "$engine $version needs a JDK $min..$max (none under /usr/lib/jvm);" \
    "install one or set ESRERANK_$([[ $engine == opensearch ]] && echo OS || echo ES)_JAVA_HOME"
  echo "$jh"
}

# ensure_user: as root, create the unprivileged engine user and let it reach ENGINES_DIR
ensure_user() {
  [[ $EUID -eq 0 ]] || return 0
  if ! id -u "$ENGINE_USER" >/dev/null 2>&1; then
    log "creating user $ENGINE_USER"
    useradd --system --create-home --shell /bin/bash "$ENGINE_USER"
  fi
  # The user needs search (x) permission on every ancestor, e.g. /root is 0700.
  local d
  d=$(dirname "$ENGINES_DIR")
  while [[ "$d" != / ]]; do
    if ! runuser -u "$ENGINE_USER" -- test -x "$d" 2>/dev/null; then
      log "chmod o+x $d (so $ENGINE_USER can reach $ENGINES_DIR)"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

AS_USER=()  # command prefix that switches to the engine user (for setsid, which needs a program)
[[ $EUID -eq 0 ]] && AS_USER=(runuser -u "$ENGINE_USER" --)

own() {  # give a folder to the engine user
  [[ $EUID -eq 0 ]] && chown -R "$ENGINE_USER:" "$@"
  return 0
}

# ---------------------------------------------------------------- fetch

# mvn_fetch DEST "group:artifact:version:type[:excluded-group]"... : resolve through ~/.m2 (cached)
# and copy to DEST/zips and DEST/jars.
mvn_fetch() {
  local dest=$1 pom spec g a v t excl deps=""
  shift
  for spec in "$@"; do
    IFS=: read -r g a v t excl <<<"$spec"
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version>"
    deps+="<type>$t</type>"
    # e.g. painless-spi depends on the whole org.opensearch:opensearch core, which is in lib/
    [[ -n "$excl" ]] && deps+="<exclusions><exclusion><groupId>$excl</groupId><artifactId>*</artifactId></exclusion></exclusions>"
    deps+="</dependency>"
  done
  mkdir -p "$dest"
  pom="$dest/pom.xml"
  cat >"$pom" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>esrerank</groupId><artifactId>engines</artifactId><version>0</version>
  <packaging>pom</packaging>
  <dependencies>$deps</dependencies>
</project>
EOF
  # shellcheck disable=SC2086
  if ! mvn -B -ntp ${ESRERANK_MVN_ARGS:-} -f "$pom" "$MVN_DEP_PLUGIN:copy-dependencies" \
      -DoutputDirectory="$dest" -Dmdep.useSubDirectoryPerType=true >"$dest.mvn.log" 2>&1; then
    tail -n 40 "$dest.mvn.log" >&2
    die "mvn could not fetch: $*"
  fi
  rm -f "$dest.mvn.log"
}

unpack_zip() {  # unpack_zip ZIP TOPDIR_NAME TARGET
  local zip=$1 top=$2 target=$3 tmp="$ENGINES_DIR/.unpack.$$"
  rm -rf "$tmp" "$target"
  mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  mv "$tmp/$top" "$target"
  rm -rf "$tmp"
}

OS_STAMP="os=$OS_VERSION knn=$OS_KNN_VERSION painless=1 reindex=1 neural=$OS_NEURAL"
if [[ "$OS_NEURAL" == 1 ]]; then OS_STAMP+=" neural-search=${OS_NEURAL_ZIP:-$OS_NEURAL_VERSION}"; fi
if [[ "$OS_ML" == 1 ]]; then OS_STAMP+=" ml-commons=$OS_ML_VERSION ml-config=1"; fi
ES_STAMP="es=$ES_VERSION rest-root=1"
SECURED_STAMP="os=$SECURED_VERSION knn=$SECURED_VERSION.0 painless=1 reindex=1"
SECURED_STAMP+=" security=$SECURED_VERSION.0 roles=2"
SECURED_STAMP+=" password=$(printf %s "$SECURED_PASSWORD" | sha256sum | cut -c1-16)"
stamp_of() {
  case ${1%-cluster} in
    opensearch) echo "$OS_STAMP" ;;
    elasticsearch) echo "$ES_STAMP" ;;
    secured) echo "$SECURED_STAMP" ;;
  esac
}
installed() {  # installed ENGINE: unpacked and set up (by this version of the script)
  local home
  home=$(home_of "$1")
  [[ -f "$home/.esrerank-ready" && "$(cat "$home/.esrerank-ready")" == "$(stamp_of "$1")" ]]
}

artifacts_opensearch() {  # Maven coordinates, one a line
  echo "org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip"
  echo "org.opensearch.plugin:opensearch-knn:$OS_KNN_VERSION:zip"
  echo "org.opensearch.plugin:lang-painless:$OS_VERSION:jar:org.opensearch"
  if [[ "$OS_NEURAL" == 1 && -z "$OS_NEURAL_ZIP" ]]; then
    echo "org.opensearch.plugin:neural-search:$OS_NEURAL_VERSION:zip"
  fi
  if [[ "$OS_ML" == 1 ]]; then
    echo "org.opensearch.plugin:opensearch-job-scheduler:$OS_ML_VERSION:zip"
    echo "org.opensearch.plugin:opensearch-ml-plugin:$OS_ML_VERSION:zip"
  fi
}
artifacts_elasticsearch() {
  echo "org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
}
artifacts_secured() {
  echo "org.opensearch.distribution.integ-test-zip:opensearch:$SECURED_VERSION:zip"
  echo "org.opensearch.plugin:opensearch-knn:$SECURED_VERSION.0:zip"
  echo "org.opensearch.plugin:opensearch-security:$SECURED_VERSION.0:zip"
  echo "org.opensearch.plugin:lang-painless:$SECURED_VERSION:jar:org.opensearch"
}
# The reindex module's jars, fetched by a second mvn run into DOWNLOADS/reindex/jars (its own
# folder: the module gets all of them, less those the server has in lib/).
reindex_artifact() {  # reindex_artifact ENGINE
  case $1 in
    opensearch) echo "org.opensearch.plugin:reindex-client:$OS_VERSION:jar" ;;
    secured) echo "org.opensearch.plugin:reindex-client:$SECURED_VERSION:jar" ;;
  esac
}

# The 2.x integ-test-zip has no lang-painless, which the k-NN plugin declares as an extended
# plugin (extended.plugins=lang-painless). Build the module from its Maven jars
# (lang-painless, opensearch-scripting-painless-spi, antlr4-runtime, asm-*).
write_descriptor() {  # write_descriptor MODULE_DIR NAME CLASS VERSION JAVA_VERSION DESCRIPTION
  cat >"$1/plugin-descriptor.properties" <<EOF
description=$6
version=$4
name=$2
classname=$3
java.version=$5
opensearch.version=$4
extended.plugins=
has.native.controller=false
EOF
}

install_painless_module() {  # install_painless_module HOME JARS_DIR VERSION JAVA_VERSION
  local home=$1 jars=$2 version=$3 java_v=$4 mod="$1/modules/lang-painless" cls
  mkdir -p "$mod"
  cp "$jars"/*.jar "$mod/"
  # the plugin class was renamed PainlessPlugin -> PainlessModulePlugin in 3.x
  cls=org.opensearch.painless.PainlessPlugin
  if unzip -l "$mod/lang-painless-$version.jar" | grep -q 'painless/PainlessModulePlugin.class'; then
    cls=org.opensearch.painless.PainlessModulePlugin
  fi
  write_descriptor "$mod" lang-painless "$cls" "$version" "$java_v" \
    "An easy, safe and fast scripting language for OpenSearch (module built by esrerank)"
  cat >"$mod/plugin-security.policy" <<'EOF'
grant {
  // needed to generate runtime classes
  permission java.lang.RuntimePermission "createClassLoader";
  // needed to find the classloader to load allowlisted classes from
  permission java.lang.RuntimePermission "getClassLoader";
};
EOF
}

# The integ-test-zip of 2.x has no reindex module either, so POST /_reindex (and update/delete by
# query) answer 405. Build it from reindex-client and its dependencies (opensearch-rest-client,
# opensearch-ssl-config, Apache httpclient/httpcore/httpasyncclient/httpcore-nio, commons-codec,
# commons-logging), leaving out jars the server has in lib/ (opensearch-common, reactor-core,
# reactive-streams): a jar twice on the module's classpath is "jar hell" and stops the node.
install_reindex_module() {  # install_reindex_module HOME JARS_DIR VERSION JAVA_VERSION
  local home=$1 jars=$2 version=$3 java_v=$4 mod="$1/modules/reindex" jar name cls
  mkdir -p "$mod"
  for jar in "$jars"/*.jar; do
    name=$(basename "$jar" .jar)
    name=${name%%-[0-9]*}   # artifact name without its version
    if compgen -G "$home/lib/$name-[0-9]*.jar" >/dev/null; then
      continue
    fi
    cp "$jar" "$mod/"
  done
  # ReindexPlugin in 2.x, ReindexModulePlugin in 3.x
  cls=org.opensearch.index.reindex.ReindexPlugin
  if unzip -l "$mod/reindex-client-$version.jar" | grep -q 'reindex/ReindexModulePlugin.class'; then
    cls=org.opensearch.index.reindex.ReindexModulePlugin
  fi
  write_descriptor "$mod" reindex "$cls" "$version" "$java_v" \
    "Reindex, update by query and delete by query APIs (module built by esrerank)"
  # the policy the module ships with (sockets for reindex from remote)
  cat >"$mod/plugin-security.policy" <<'EOF'
grant {
  // reindex opens socket connections using the rest client
  permission java.net.SocketPermission "*", "connect";
};

grant codeBase "${codebase.opensearch-rest-client}" {
  // rest client uses system properties which gets the default proxy
  permission java.net.NetPermission "getProxySelector";
};

grant codeBase "${codebase.httpasyncclient}" {
  // rest client uses system properties which gets the default proxy
  permission java.net.NetPermission "getProxySelector";
};
EOF
}

install_plugin() {  # install_plugin HOME VERSION URL: opensearch-plugin install --batch URL
  local home=$1 version=$2 url=$3 java_home out
  java_home=$(java_for opensearch "$version")
  log "installing ${url##*/}"
  out=$(OPENSEARCH_JAVA_HOME="$java_home" "$home/bin/opensearch-plugin" install --batch "$url" \
    2>&1) || { echo "$out" >&2; die "could not install $url"; }
}

# unpack_opensearch HOME VERSION KNN_VERSION DOWNLOADS: the distribution with lang-painless,
# reindex and k-NN
unpack_opensearch() {
  local home=$1 version=$2 knn_version=$3 dl=$4 java_v
  unpack_zip "$dl/zips/opensearch-$version.zip" "opensearch-$version" "$home"
  java_v=$(( $(major "$version") >= 3 ? 21 : 11 ))
  if [[ -d "$home/modules/lang-painless" ]]; then
    log "lang-painless is bundled with this distribution"   # 3.x integ-test-zips carry all modules
  else
    log "building the lang-painless module from Maven jars"
    install_painless_module "$home" "$dl/jars" "$version" "$java_v"
  fi
  if [[ -d "$home/modules/reindex" ]]; then
    log "reindex is bundled with this distribution"
  else
    log "building the reindex module from Maven jars"
    install_reindex_module "$home" "$dl/reindex/jars" "$version" "$java_v"
  fi
  install_plugin "$home" "$version" "file://$dl/zips/opensearch-knn-$knn_version.zip"
}

install_opensearch() {  # install_opensearch DOWNLOADS
  local dl=$1
  unpack_opensearch "$OS_HOME" "$OS_VERSION" "$OS_KNN_VERSION" "$dl"
  if [[ "$OS_ML" == 1 ]]; then
    # ml-commons extends job-scheduler (3.x: and, optionally, opensearch-security), which must be
    # installed first ("Missing plugin [opensearch-job-scheduler], dependency of [opensearch-ml]");
    # neural-search does not extend ml-commons (it calls it through transport actions), so either
    # may come first.
    install_plugin "$OS_HOME" "$OS_VERSION" \
      "file://$dl/zips/opensearch-job-scheduler-$OS_ML_VERSION.zip"
    install_plugin "$OS_HOME" "$OS_VERSION" \
      "file://$dl/zips/opensearch-ml-plugin-$OS_ML_VERSION.zip"
    # Connectors to http://127.0.0.1:PORT: without private_ip_enabled a predict fails with "Remote
    # inference host name has private ip address: 127.0.0.1" (3.x checks it when the model is
    # deployed, so it belongs here, not in a cluster setting put after start); without the regex,
    # creating the connector fails ("Connector URL is not matching the trusted connector endpoint
    # regex"). Remote models ignore only_run_on_ml_node and the memory/disk circuit breakers.
    cat >>"$OS_HOME/config/opensearch.yml" <<'EOF'

# esrerank: ml-commons remote connectors on loopback (scripts/engines.sh)
plugins.ml_commons.connector.private_ip_enabled: true
plugins.ml_commons.trusted_connector_endpoints_regex:
  - '^https?://(127\.0\.0\.1|localhost)(:[0-9]+)?/.*$'
EOF
  fi
  if [[ "$OS_NEURAL" == 1 ]]; then
    # neural-search extends opensearch-knn (and, in 3.x, the bundled transport-grpc module);
    # hybrid queries and normalization-processor need no ml-commons at runtime (the rerank
    # processor and neural queries do).
    local neural_zip="file://$dl/zips/neural-search-$OS_NEURAL_VERSION.zip"
    if [[ -n "$OS_NEURAL_ZIP" ]]; then
      neural_zip=$OS_NEURAL_ZIP
      [[ "$neural_zip" == *://* ]] || neural_zip="file://$(readlink -f "$neural_zip")"
    fi
    install_plugin "$OS_HOME" "$OS_VERSION" "$neural_zip"
  fi
  own "$OS_HOME"
  echo "$OS_STAMP" >"$OS_HOME/.esrerank-ready"
}

# The Elasticsearch integ-test-zip lacks the rest-root module, so `GET /` answers 405 there
# (clients read the version from it). Compile a tiny stand-in module against the distribution's
# own jars; it answers GET / and HEAD / like the real one (name, cluster, version, tagline).
install_es_rest_root() {
  local home=$1 java_home=$2 java_v=$3 src mod="$1/modules/esrerank-rest-root"
  [[ -x "$java_home/bin/javac" ]] || die "no javac in $java_home (a JDK is needed, not a JRE)"
  src=$(mktemp -d)
  mkdir -p "$src/esrerank/restroot"
  cat >"$src/esrerank/restroot/RestRootPlugin.java" <<'EOF_JAVA'
package esrerank.restroot;

import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.RestChannel;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/** GET / for Elasticsearch distributions built without the rest-root module. */
public class RestRootPlugin extends Plugin implements ActionPlugin {
    private volatile ClusterService clusterService;

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService = services.clusterService();
        return List.of();
    }

    @Override
    public List<RestHandler> getRestHandlers(Settings settings, NamedWriteableRegistry registry,
            RestController controller, ClusterSettings clusterSettings,
            IndexScopedSettings indexScopedSettings, SettingsFilter settingsFilter,
            IndexNameExpressionResolver resolver, Supplier<DiscoveryNodes> nodes,
            Predicate<NodeFeature> features) {
        return List.of(new RestHandler() {
            @Override
            public List<Route> routes() {
                return List.of(new Route(RestRequest.Method.GET, "/"),
                        new Route(RestRequest.Method.HEAD, "/"));
            }

            @Override
            public void handleRequest(RestRequest request, RestChannel channel, NodeClient client)
                    throws Exception {
                if (request.method() == RestRequest.Method.HEAD) {
                    channel.sendResponse(
                            new RestResponse(RestStatus.OK, "application/json", BytesArray.EMPTY));
                    return;
                }
                Build build = Build.current();
                XContentBuilder b = channel.newBuilder();
                b.startObject();
                b.field("name", clusterService.getNodeName());
                b.field("cluster_name", clusterService.getClusterName().value());
                b.field("cluster_uuid", clusterService.state().metadata().clusterUUID());
                b.startObject("version");
                b.field("number", build.qualifiedVersion());
                b.field("build_flavor", build.flavor());
                b.field("build_type", build.type().displayName());
                b.field("build_hash", build.hash());
                b.field("build_date", build.date());
                b.field("build_snapshot", build.isSnapshot());
                b.field("lucene_version", org.apache.lucene.util.Version.LATEST.toString());
                b.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
                b.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
                b.endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            }
        });
    }
}
EOF_JAVA
  "$java_home/bin/javac" -nowarn --release "$java_v" -cp "$home/lib/*" -d "$src/classes" \
    "$src/esrerank/restroot/RestRootPlugin.java" >&2
  mkdir -p "$mod"
  "$java_home/bin/jar" --create --file "$mod/esrerank-rest-root.jar" -C "$src/classes" .
  cat >"$mod/plugin-descriptor.properties" <<EOF
description=GET / root endpoint (stand-in for rest-root, built by esrerank scripts/engines.sh)
version=$ES_VERSION
name=esrerank-rest-root
classname=esrerank.restroot.RestRootPlugin
java.version=$java_v
elasticsearch.version=$ES_VERSION
extended.plugins=
has.native.controller=false
EOF
  rm -rf "$src"
}

install_elasticsearch() {  # install_elasticsearch DOWNLOADS
  local dl=$1 java_home java_v
  unpack_zip "$dl/zips/elasticsearch-$ES_VERSION.zip" "elasticsearch-$ES_VERSION" "$ES_HOME"
  if [[ ! -d "$ES_HOME/modules/rest-root" ]]; then
    log "building a GET / module (the integ-test-zip has no rest-root)"
    java_home=$(java_for elasticsearch "$ES_VERSION")
    java_v=$(( $(major "$ES_VERSION") >= 9 ? 21 : 17 ))
    install_es_rest_root "$ES_HOME" "$java_home" "$java_v"
  fi
  own "$ES_HOME"
  echo "$ES_STAMP" >"$ES_HOME/.esrerank-ready"
}

# The secured engine: TLS on HTTP and transport (certificates from make_certs, copied to
# config/certs at each start), internal users in config/opensearch-security/, which the node
# writes to its security index on first start (allow_default_init_securityindex). A new CA at
# each start is fine: the node knows its peers and the admin by DN, and the security index holds
# users and roles, no certificates.
install_secured() {  # install_secured DOWNLOADS
  local dl=$1 conf="$SECURED_HOME/config"
  unpack_opensearch "$SECURED_HOME" "$SECURED_VERSION" "$SECURED_VERSION.0" "$dl"
  install_plugin "$SECURED_HOME" "$SECURED_VERSION" \
    "file://$dl/zips/opensearch-security-$SECURED_VERSION.0.zip"
  cat >>"$conf/opensearch.yml" <<'EOF'

# esrerank secured engine (scripts/engines.sh)
plugins.security.ssl.transport.pemcert_filepath: certs/node.pem
plugins.security.ssl.transport.pemkey_filepath: certs/node-key.pem
plugins.security.ssl.transport.pemtrustedcas_filepath: certs/root-ca.pem
plugins.security.ssl.transport.enforce_hostname_verification: false
plugins.security.ssl.http.enabled: true
plugins.security.ssl.http.pemcert_filepath: certs/node.pem
plugins.security.ssl.http.pemkey_filepath: certs/node-key.pem
plugins.security.ssl.http.pemtrustedcas_filepath: certs/root-ca.pem
plugins.security.ssl.http.clientauth_mode: OPTIONAL
plugins.security.authcz.admin_dn: ["CN=esrerank-admin,O=esrerank"]
plugins.security.nodes_dn: ["CN=esrerank-node,O=esrerank"]
plugins.security.allow_default_init_securityindex: true
plugins.security.restapi.roles_enabled: ["all_access"]
plugins.security.audit.type: noop
EOF
  # client certificates authenticate (user = their CN); basic auth stays as it is
  sed -i '/^      clientcert_auth_domain:/,/order:/ s/http_enabled: false/http_enabled: true/' \
    "$conf/opensearch-security/config.yml"
  cat >"$conf/opensearch-security/internal_users.yml" <<EOF
_meta:
  type: "internalusers"
  config_version: 2
admin:
  hash: "$(password_hash "$SECURED_PASSWORD")"
  reserved: true
  description: "esrerank admin (all_access)"
reader:
  hash: "$(password_hash "$READER_PASSWORD")"
  description: "esrerank read-only user (esrerank_reader)"
EOF
  cat >"$conf/opensearch-security/roles_mapping.yml" <<'EOF'
_meta:
  type: "rolesmapping"
  config_version: 2
all_access:
  reserved: false
  users: ["admin", "esrerank-client"]
esrerank_reader:
  reserved: false
  users: ["reader"]
EOF
  cat >"$conf/opensearch-security/roles.yml" <<'EOF'
_meta:
  type: "roles"
  config_version: 2
esrerank_reader:
  reserved: false
  description: "Reads and searches every index; creates and writes nothing"
  cluster_permissions: ["cluster:monitor/main", "cluster_composite_ops_ro"]
  index_permissions:
    - index_patterns: ["*"]
      allowed_actions: ["read", "indices:admin/get", "indices:admin/mappings/get"]
EOF
  own "$SECURED_HOME"
  echo "$SECURED_STAMP" >"$SECURED_HOME/.esrerank-ready"
}

password_hash() {  # password_hash PASSWORD: bcrypt hash from the security plugin's own tool
  local java_home out
  java_home=$(java_for opensearch "$SECURED_VERSION")
  out=$(OPENSEARCH_JAVA_HOME="$java_home" \
    bash "$SECURED_HOME/plugins/opensearch-security/tools/hash.sh" -p "$1" 2>&1)
  out=$(tail -n 1 <<<"$out")
  [[ "$out" == '$2'* ]] || die "hash.sh gave no bcrypt hash: $out"
  echo "$out"
}

# make_certs DIR: a fresh root CA and, signed by it, the node, admin and client certificates
make_certs() {
  local d=$1 name
  need_cmd openssl openssl
  rm -rf "$d"
  mkdir -p "$d"
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/root-ca-key.pem"
  ossl req -x509 -new -key "$d/root-ca-key.pem" -sha256 -days 3650 \
    -subj "/O=esrerank/CN=esrerank-root-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$d/root-ca.pem"
  for name in node admin client; do
    ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/$name-key.pem"  # PKCS#8
    ossl req -new -key "$d/$name-key.pem" -subj "/O=esrerank/CN=esrerank-$name" -out "$d/$name.csr"
    ossl x509 -req -in "$d/$name.csr" -CA "$d/root-ca.pem" -CAkey "$d/root-ca-key.pem" \
      -set_serial "0x$(openssl rand -hex 16)" -sha256 -days 3650 \
      -extfile <(cert_extensions "$name") -out "$d/$name.pem"
    rm "$d/$name.csr"
  done
  chmod 755 "$d"
  chmod 644 "$d"/*.pem
}

cert_extensions() {  # cert_extensions node|admin|client: x509v3 extensions, for -extfile
  echo "basicConstraints=critical,CA:FALSE"
  echo "subjectKeyIdentifier=hash"
  echo "authorityKeyIdentifier=keyid,issuer"
  echo "keyUsage=critical,digitalSignature,keyEncipherment"
  if [[ $1 == node ]]; then
    echo "extendedKeyUsage=serverAuth,clientAuth"
    echo "subjectAltName=DNS:localhost,IP:127.0.0.1"
  else
    echo "extendedKeyUsage=clientAuth"
  fi
}

ossl() {  # ossl ARGS...: openssl, quiet unless it fails
  local out
  out=$(openssl "$@" 2>&1) || { echo "$out" >&2; die "openssl $1 failed"; }
}

fetch() {  # fetch ENGINE...: download what is not installed yet (mvn), install it
  local e todo=() specs=() dl="$ENGINES_DIR/downloads"
  for e in "$@"; do
    e=${e%-cluster}  # a cluster's nodes run the single node's install
    if installed "$e"; then
      log "$e already installed in $(home_of "$e")"
    elif [[ " ${todo[*]} " != *" $e "* ]]; then
      todo+=("$e")
    fi
  done
  [[ ${#todo[@]} -gt 0 ]] || return 0
  need_cmd unzip unzip
  need_cmd curl curl
  need_cmd mvn maven
  mkdir -p "$ENGINES_DIR"
  ensure_user
  rm -rf "$dl"
  # one folder each: the two OpenSearch engines need lang-painless jars of different versions
  for e in "${todo[@]}"; do
    mapfile -t specs < <("artifacts_$e")
    log "fetching via mvn: ${specs[*]}"
    mvn_fetch "$dl/$e" "${specs[@]}"
    mapfile -t specs < <(reindex_artifact "$e")
    if [[ ${#specs[@]} -gt 0 ]]; then
      log "fetching via mvn: ${specs[*]} (and its dependencies)"
      mvn_fetch "$dl/$e/reindex" "${specs[@]}"
    fi
  done
  for e in "${todo[@]}"; do "install_$e" "$dl/$e"; done
  rm -rf "$dl"
}

# ---------------------------------------------------------------- start / stop / status

port_of() {
  case $1 in
    opensearch) echo "$OS_PORT" ;;
    elasticsearch) echo "$ES_PORT" ;;
    secured) echo "$SECURED_PORT" ;;
    opensearch-cluster) echo "$OS_CLUSTER_PORT" ;;
    elasticsearch-cluster) echo "$ES_CLUSTER_PORT" ;;
  esac
}
is_cluster() { [[ $1 == *-cluster ]]; }
node_port() { echo $(( $(port_of "$1") + $2 - 1 )); }  # node_port ENGINE N: node N's HTTP port
transport_port() { echo $(( $(port_of "$1") + 99 + $2 )); }  # ... and its transport port
units_of() {  # the processes an engine runs: itself, or its nodes ENGINE-1 .. ENGINE-3
  local n
  if is_cluster "$1"; then
    for (( n = 1; n <= CLUSTER_NODES; n++ )); do echo "$1-$n"; done
  else
    echo "$1"
  fi
}
home_of() {
  case ${1%-cluster} in
    opensearch) echo "$OS_HOME" ;;
    elasticsearch) echo "$ES_HOME" ;;
    secured) echo "$SECURED_HOME" ;;
  esac
}
pid_of() {  # pid of a running engine, or nothing
  local f="$RUN_DIR/$1.pid" p
  [[ -f "$f" ]] || return 0
  p=$(cat "$f" 2>/dev/null || true)
  [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && echo "$p"
  return 0
}
url_of() {  # an engine's URL (a cluster's: its first node's)
  if [[ $1 == secured ]]; then echo "https://127.0.0.1:$SECURED_PORT"
  else echo "http://127.0.0.1:$(port_of "$1")"; fi
}
engine_curl() {  # engine_curl ENGINE CURL_ARGS...: curl with the CA and admin login it needs
  local e=$1
  shift
  if [[ $e == secured ]]; then
    curl --cacert "$CERTS_DIR/root-ca.pem" -u "admin:$SECURED_PASSWORD" "$@"
  else
    curl "$@"
  fi
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

engine_log_tail() {
  local e=$1 home node_log
  home=$(home_of "$e")
  # the log is named after the cluster
  node_log="$home/logs/$([[ $e == elasticsearch ]] && echo elasticsearch || echo opensearch).log"
  echo "----- $node_log (last 60 lines)" >&2
  tail -n 60 "$node_log" >&2 2>/dev/null || true
  echo "----- $RUN_DIR/$e.out: launcher output (last 40 lines)" >&2
  tail -n 40 "$RUN_DIR/$e.out" >&2 2>/dev/null || true
}

declare -A LAUNCHER=()  # engine (or cluster node) -> pid of the launcher this run started
launch() {  # launch ENGINE: start the node, or a cluster's nodes, in the background
  local e=$1 home port version=$OS_VERSION label=opensearch n
  if is_cluster "$e"; then
    for (( n = 1; n <= CLUSTER_NODES; n++ )); do launch_node "$e" "$n"; done
    return
  fi
  home=$(home_of "$e")
  port=$(port_of "$e")
  if [[ -n "$(pid_of "$e")" ]]; then
    log "$e already running (pid $(pid_of "$e"))"
    return
  fi
  if port_in_use "$port"; then
    die "port $port is already in use by another process"
  fi
  if [[ $e == secured ]]; then
    version=$SECURED_VERSION label="secured opensearch"
    log "making a CA and certificates in $CERTS_DIR"
    make_certs "$CERTS_DIR"
    mkdir -p "$home/config/certs"
    cp "$CERTS_DIR/root-ca.pem" "$CERTS_DIR/node.pem" "$CERTS_DIR/node-key.pem" \
      "$home/config/certs/"
    chmod 700 "$home/config/certs"
    chmod 600 "$home/config/certs"/*.pem
    own "$home/config/certs"
  elif [[ $e == elasticsearch ]]; then
    version=$ES_VERSION label=elasticsearch
  fi
  log "starting $label $version on port $port"
  run_node "$home" "$version" "$e" "$HEAP" \
    -E discovery.type=single-node -E "http.port=$port"
}

launch_node() {  # launch_node ENGINE N: start node N of a cluster engine (returns at once)
  local e=$1 n=$2 unit="$1-$2" port i seeds="" names="" version=$OS_VERSION
  local first=cluster.initial_cluster_manager_nodes
  port=$(node_port "$e" "$n")
  if [[ -n "$(pid_of "$unit")" ]]; then
    log "$unit already running (pid $(pid_of "$unit"))"
    return
  fi
  if port_in_use "$port"; then
    die "port $port is already in use by another process"
  fi
  for (( i = 1; i <= CLUSTER_NODES; i++ )); do
    seeds+="127.0.0.1:$(transport_port "$e" "$i"),"
    names+="$e-$i,"
  done
  if [[ $e == elasticsearch-cluster ]]; then
    version=$ES_VERSION first=cluster.initial_master_nodes
  fi
  mkdir -p "$RUN_DIR/$unit/data" "$RUN_DIR/$unit/logs"
  log "starting ${e%-cluster} $version node $unit on port $port"
  run_node "$(home_of "$e")" "$version" "$unit" "$CLUSTER_HEAP" \
    -E "cluster.name=esrerank-$e" -E "node.name=$unit" -E "http.port=$port" \
    -E "transport.port=$(transport_port "$e" "$n")" -E "discovery.seed_hosts=${seeds%,}" \
    -E "$first=${names%,}" -E "path.data=$RUN_DIR/$unit/data" -E "path.logs=$RUN_DIR/$unit/logs"
}

run_node() {  # run_node HOME VERSION UNIT HEAP SETTINGS...: one engine process, detached
  local home=$1 version=$2 unit=$3 heap=$4 java_home
  shift 4
  mkdir -p "$RUN_DIR" "$ENGINES_DIR/tmp/$unit"
  own "$RUN_DIR" "$ENGINES_DIR/tmp"
  rm -f "$RUN_DIR/$unit.pid"
  local common=(-p "$RUN_DIR/$unit.pid" -E network.host=127.0.0.1
    -E cluster.routing.allocation.disk.threshold_enabled=false "$@")
  # OpenSearch runs in the foreground of a detached session (its -d returns before the JVM is
  # up, so a failure would go unseen); Elasticsearch's -d waits until the node is started and
  # exits non-zero when it fails, and saves the memory of its launcher JVM.
  if [[ -x "$home/bin/opensearch" ]]; then
    java_home=$(java_for opensearch "$version")
    # a fixed OPENSEARCH_TMPDIR spares the launcher one JVM run (seconds on two cores)
    setsid "${AS_USER[@]}" env OPENSEARCH_JAVA_HOME="$java_home" JAVA_HOME= \
      OPENSEARCH_TMPDIR="$ENGINES_DIR/tmp/$unit" OPENSEARCH_JAVA_OPTS="-Xms$heap -Xmx$heap" \
      "$home/bin/opensearch" "${common[@]}" >"$RUN_DIR/$unit.out" 2>&1 </dev/null &
  else
    java_home=$(java_for elasticsearch "$version")
    # The integ-test-zip has no ingest-geoip or ml modules, so their settings do not exist
    # (and passing e.g. ingest.geoip.downloader.enabled would be an "unknown setting" error).
    setsid "${AS_USER[@]}" env ES_JAVA_HOME="$java_home" JAVA_HOME= \
      ES_JAVA_OPTS="-Xms$heap -Xmx$heap" \
      "$home/bin/elasticsearch" -d "${common[@]}" -E xpack.security.enabled=false \
      >"$RUN_DIR/$unit.out" 2>&1 </dev/null &
  fi
  LAUNCHER[$unit]=$!
}

wait_cluster() {  # wait_cluster ENGINE: until all its nodes have joined and it is yellow
  local e=$1 url deadline unit
  url=$(url_of "$e")
  deadline=$(( SECONDS + START_TIMEOUT ))
  while (( SECONDS < deadline )); do
    if curl -sf --max-time 5 \
        "$url/_cluster/health?wait_for_status=yellow&wait_for_nodes=$CLUSTER_NODES&timeout=2s" \
        >/dev/null 2>&1; then
      return 0
    fi
    for unit in $(units_of "$e"); do
      if [[ -z "$(pid_of "$unit")" ]] && ! kill -0 "${LAUNCHER[$unit]:-0}" 2>/dev/null; then
        tail -n 60 "$RUN_DIR/$unit/logs/esrerank-$e.log" "$RUN_DIR/$unit.out" >&2 2>/dev/null
        die "$unit exited during startup (see the logs above)"
      fi
    done
    sleep 1
  done
  die "$e did not gather $CLUSTER_NODES nodes on $url within ${START_TIMEOUT}s"
}

wait_yellow() {  # wait_yellow ENGINE
  local e=$1 url deadline launcher rc
  url=$(url_of "$e")
  deadline=$(( SECONDS + START_TIMEOUT ))
  launcher="${LAUNCHER[$e]:-}"   # empty when the node was already running
  while (( SECONDS < deadline )); do
    if engine_curl "$e" -sf --max-time 5 "$url/_cluster/health?wait_for_status=yellow&timeout=2s" \
        >/dev/null 2>&1; then
      return 0
    fi
    # Give up early when the launcher failed, or when it is gone and so is the node.
    if [[ -n "$launcher" ]] && ! kill -0 "$launcher" 2>/dev/null; then
      rc=0
      wait "$launcher" 2>/dev/null || rc=$?
      launcher=""
      if (( rc != 0 )); then
        engine_log_tail "$e"
        die "$e failed to start (exit status $rc; see the logs above)"
      fi
    fi
    if [[ -z "$launcher" && -z "$(pid_of "$e")" ]]; then
      engine_log_tail "$e"
      die "$e exited during startup (see the logs above)"
    fi
    sleep 1
  done
  engine_log_tail "$e"
  die "$e did not reach yellow on $url within ${START_TIMEOUT}s"
}

start() {
  local e t0=$SECONDS
  fetch "$@"
  for e in "$@"; do launch "$e"; done
  for e in "$@"; do
    if is_cluster "$e"; then wait_cluster "$e"; else wait_yellow "$e"; fi
  done
  log "ready after $(( SECONDS - t0 ))s"
  for e in "$@"; do echo "$e: $(url_of "$e")"; done
}

stop() {
  local e p i
  for e in $(for e in "$@"; do units_of "$e"; done); do
    p=$(pid_of "$e")
    if [[ -z "$p" ]]; then
      log "$e is not running"
      rm -f "$RUN_DIR/$e.pid"
      continue
    fi
    log "stopping $e (pid $p)"
    kill -TERM "$p" 2>/dev/null || true
    for (( i = 0; i < 60; i++ )); do
      kill -0 "$p" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$p" 2>/dev/null; then
      log "$e did not exit within 60s; killing it"
      kill -KILL "$p" 2>/dev/null || true
      sleep 1
    fi
    rm -f "$RUN_DIR/$e.pid"
  done
}

status() {
  local e body pid
  for e in "$@"; do
    if body=$(engine_curl "$e" -s --max-time 3 "$(url_of "$e")/?pretty" 2>/dev/null) &&
        [[ -n "$body" ]]; then
      pid=$(pid_of "$e")
      echo "$e: $(url_of "$e")${pid:+ (pid $pid)}"
      echo "$body"
      if is_cluster "$e"; then curl -s --max-time 3 "$(url_of "$e")/_cat/nodes?v"; fi
    else
      echo "$e: down"
    fi
  done
}

# ---------------------------------------------------------------- main

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

cmd="${1:-}"
shift || true
engines=("$@")
if [[ ${#engines[@]} -eq 0 ]]; then engines=(opensearch elasticsearch); fi
for e in "${engines[@]}"; do
  case "$e" in
    opensearch | elasticsearch | secured | opensearch-cluster | elasticsearch-cluster) ;;
    [1-9]) [[ $cmd == *-node ]] || die "unknown engine '$e'" ;;
    *) die "unknown engine '$e' (expected opensearch, elasticsearch, opensearch-cluster," \
      "elasticsearch-cluster or secured)" ;;
  esac
done

node_command() {  # node_command kill|start ENGINE N
  local e=$2 n=${3:-} p i
  is_cluster "$e" && [[ $n =~ ^[1-9]$ ]] && (( n <= CLUSTER_NODES )) ||
    die "usage: $0 $1-node opensearch-cluster|elasticsearch-cluster 1-$CLUSTER_NODES"
  if [[ $1 == kill ]]; then
    p=$(pid_of "$e-$n")
    [[ -n "$p" ]] || die "$e-$n is not running"
    log "killing $e-$n (pid $p) with SIGKILL"
    kill -KILL "$p"
    # gone before this returns: a start right after must not meet the dead node's lock or port
    for (( i = 0; i < 300; i++ )); do
      kill -0 "$p" 2>/dev/null || return 0
      sleep 0.1
    done
    die "$e-$n (pid $p) is still there 30 s after SIGKILL"
  else
    launch_node "$e" "$n"
    wait_cluster "$e"
    log "$e has its $CLUSTER_NODES nodes again"
  fi
}

case "$cmd" in
  kill-node) node_command kill "${engines[@]}" ;;
  start-node) node_command start "${engines[@]}" ;;
  fetch) fetch "${engines[@]}" ;;
  start) start "${engines[@]}" ;;
  stop) stop "${engines[@]}" ;;
  status) status "${engines[@]}" ;;
  *) usage ;;
esac
