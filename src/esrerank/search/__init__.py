"""The query: both legs, fusion, the rerank and the final order."""
