"""The models: bi-encoder and reranker, where their weights come from, the runtimes that
run them (export, inference, graph templates) and the caches of their outputs."""
