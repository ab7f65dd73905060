"""``esrerank serve``: one long-lived process holding the models, speaking HTTP.

``app`` builds the ASGI application (Starlette, served by uvicorn: a small, well-kept stack that
brings routing, request parsing and streaming without a framework's weight); ``rerank_api``
parses and answers the rerank and embed APIs the ecosystem speaks (Cohere, TEI); ``responses``
turns esrerank's errors into engine-shaped answers, in one place.
"""
