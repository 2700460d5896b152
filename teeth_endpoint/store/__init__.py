"""The endpoint's durable records: one `Store` over two engines (SQLite embedded, PostgreSQL shared).

    store = await open_store(state_dir="/var/lib/teeth")            # SQLite, WAL, in state_dir
    store = await open_store(url="postgresql://teeth@db/teeth")     # psycopg 3 async pool
"""

from teeth_endpoint.store.errors import StoreError, StoreUnavailable
from teeth_endpoint.store.opener import open_store
from teeth_endpoint.store.sql import Store

__all__ = ["Store", "StoreError", "StoreUnavailable", "open_store"]
