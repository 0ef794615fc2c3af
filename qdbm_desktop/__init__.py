"""QDBM Desktop: moves a SQL query's result from one database into a table of another."""

__version__ = "0.1.0"
APP_NAME = "QDBM Desktop"
