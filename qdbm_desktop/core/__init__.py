"""Everything QDBM Desktop does, as plain Python: no Qt is imported anywhere below this package."""
