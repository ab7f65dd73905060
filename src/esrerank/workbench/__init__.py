"""The relevance workbench's logic, apart from its page: every stage of a search side by side,
what-if orders from scores already computed, and the overlap of two configurations."""
