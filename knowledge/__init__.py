"""The policy knowledge base: document loaders, heading-aware chunking, the Chroma store with a local embedder,
and hybrid (BM25 + vector) retrieval with citations.

Importing this package (or any module in it) loads no model and opens no store: the embedding model is loaded on
first use, once per process, and Chroma clients are created when a store is first asked for.
"""
