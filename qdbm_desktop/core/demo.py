"""The first-run demo: a small shop database in SQLite and an empty warehouse to migrate into."""

from __future__ import annotations

import os
import random
import sqlite3
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.paths import create_private_file

DEMO_SOURCE_NAME = "Demo shop (SQLite)"
DEMO_TARGET_NAME = "Local warehouse (SQLite)"
DEMO_SOURCE_FILE = "demo_shop.sqlite"
DEMO_TARGET_FILE = "warehouse.sqlite"
#: A query a newcomer can run at once: every order with its customer.
DEMO_QUERY = (
    "SELECT o.order_id, c.name AS customer, c.country, o.ordered_at, o.paid_at, o.status, o.total\n"
    "FROM orders o JOIN customers c ON c.customer_id = o.customer_id\n"
    "ORDER BY o.order_id"
)

CUSTOMERS = 500
PRODUCTS = 120
ORDERS = 3000

_FIRST = ["Zoë", "José", "Łukasz", "Søren", "Chloé", "Ærin", "Björn", "Ines", "Ольга", "Αλέξανδρος",
          "李", "山田", "محمد", "Siobhán", "François", "Dvořák", "Nguyễn", "Şule", "Ana", "Pedro"]
_LAST = ["Ångström", "Núñez", "Żółć", "Kierkegård", "O'Brien", "Müller", "García", "Иванова",
         "Παπαδόπουλος", "小龙", "太郎", "Haddad", "Ní Bhriain", "Lefèvre", "Novák", "Trần", "Yılmaz",
         "Smith", "Silva", "Rossi"]
_CITIES = [("Zürich", "CH"), ("São Paulo", "BR"), ("Kraków", "PL"), ("København", "DK"),
           ("Montréal", "CA"), ("Москва", "RU"), ("東京", "JP"), ("Αθήνα", "GR"), ("Reykjavík", "IS"),
           ("Cork", "IE"), ("Hà Nội", "VN"), ("İstanbul", "TR"), ("Lisboa", "PT"), ("Austin", "US")]
_CATEGORIES = ["Books", "Café & Tea", "Garden", "Toys", "Électronique", "Kitchen"]
_STATUSES = ["new", "paid", "shipped", "delivered", "cancelled"]
_ZONES = [timezone.utc, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)),
          timezone(timedelta(hours=9)), timezone(timedelta(hours=5, minutes=30))]

_SCHEMA = """
CREATE TABLE customers (
    customer_id   INTEGER PRIMARY KEY,
    name          VARCHAR(100) NOT NULL,
    email         VARCHAR(200),
    city          VARCHAR(100),
    country       CHAR(2),
    signed_up     DATE NOT NULL,
    is_vip        BOOLEAN NOT NULL,
    credit_limit  DECIMAL(12,2),
    notes         TEXT
);
CREATE TABLE products (
    product_id    INTEGER PRIMARY KEY,
    sku           VARCHAR(20) NOT NULL UNIQUE,
    name          VARCHAR(200) NOT NULL,
    category      VARCHAR(50) NOT NULL,
    unit_price    DECIMAL(10,2) NOT NULL,
    weight_kg     DOUBLE,
    discontinued  BOOLEAN NOT NULL,
    added_at      TIMESTAMP NOT NULL
);
CREATE TABLE orders (
    order_id      INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (customer_id),
    ordered_at    TIMESTAMP NOT NULL,
    paid_at       TIMESTAMP WITH TIME ZONE,
    status        VARCHAR(20) NOT NULL,
    total         DECIMAL(12,2) NOT NULL,
    currency      CHAR(3) NOT NULL,
    note          TEXT
);
CREATE TABLE order_items (
    order_id      INTEGER NOT NULL REFERENCES orders (order_id),
    line_no       INTEGER NOT NULL,
    product_id    INTEGER NOT NULL REFERENCES products (product_id),
    quantity      INTEGER NOT NULL,
    unit_price    DECIMAL(10,2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
"""


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def create_demo_database(path: Path, seed: int = 20260130) -> None:
    """Write the demo shop to ``path``; the same seed always gives the same rows.

    It is built in a temporary file and renamed into place, so an interrupted start never
    leaves a half-filled demo behind.
    """
    rng = random.Random(seed)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    create_private_file(tmp)
    with closing(sqlite3.connect(tmp)) as db:
        db.executescript(_SCHEMA)
        customers = []
        for cid in range(1, CUSTOMERS + 1):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            city, country = rng.choice(_CITIES)
            email = None if rng.random() < 0.08 else f"customer{cid}@example.com"
            notes = rng.choice([None, None, None, "", "VIP since launch 🎉", "Prefers e-mail\tnot phone",
                                'Says "hi"\nand a second line', "Back\\slash account"])
            limit = None if rng.random() < 0.1 else str(_money(rng, 100, 50_000))
            signed = date(1998, 1, 1) + timedelta(days=rng.randint(0, 10_000))
            customers.append((cid, f"{first} {last}", email, city, country, signed.isoformat(),
                              rng.random() < 0.15, limit, notes))
        db.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?)", customers)
        products, prices = [], {}
        for pid in range(1, PRODUCTS + 1):
            price = _money(rng, 1, 900)
            prices[pid] = price
            category = rng.choice(_CATEGORIES)
            added = datetime(2015, 1, 1) + timedelta(seconds=rng.randint(0, 300_000_000),
                                                     microseconds=rng.randint(0, 999_999))
            weight = None if rng.random() < 0.05 else round(rng.uniform(0.01, 40.0), 3)
            products.append((pid, f"SKU-{pid:05d}", f"{category} item nº {pid}", category, str(price),
                             weight, rng.random() < 0.07, added.isoformat(sep=" ")))
        db.executemany("INSERT INTO products VALUES (?,?,?,?,?,?,?,?)", products)
        orders: list[tuple[object, ...]] = []
        items: list[tuple[object, ...]] = []
        for oid in range(1, ORDERS + 1):
            lines = [(rng.randint(1, PRODUCTS), rng.randint(1, 5)) for _ in range(rng.randint(1, 4))]
            total = sum((prices[p] * q for p, q in lines), Decimal("0.00"))
            ordered = datetime(2023, 1, 1) + timedelta(seconds=rng.randint(0, 90_000_000),
                                                       microseconds=rng.randint(0, 999_999))
            status = rng.choice(_STATUSES)
            paid = None
            if status != "new":
                zone = rng.choice(_ZONES)
                paid = (ordered + timedelta(minutes=rng.randint(1, 600))).replace(tzinfo=zone).isoformat()
            note = None if rng.random() < 0.85 else rng.choice(["Gift wrap 🎁", "Leave at the door", ""])
            orders.append((oid, rng.randint(1, CUSTOMERS), ordered.isoformat(sep=" "), paid, status,
                           str(total), rng.choice(["EUR", "USD", "CHF"]), note))
            items.extend((oid, n, p, q, str(prices[p])) for n, (p, q) in enumerate(lines, start=1))
        db.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)", orders)
        db.executemany("INSERT INTO order_items VALUES (?,?,?,?,?)", items)
        db.commit()
    os.replace(tmp, path)


def create_empty_database(path: Path) -> None:
    """An empty SQLite database file (with a valid header), left alone if it exists."""
    if path.exists():
        return
    create_private_file(path)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 0")
        db.execute("CREATE TABLE qdbm_init (x INTEGER)")
        db.execute("DROP TABLE qdbm_init")
        db.commit()


def ensure_first_run(context: AppContext) -> list[str]:
    """On the very first start: the demo databases and their two connections. Idempotent."""
    if context.settings.get().first_run_done:
        return []
    # A start before this one left both; the demo folder alone may be a user's copy.
    started_before = context.paths.connections_file.exists() and context.paths.demo_dir.exists()
    # Loading each file first creates the ones missing and tells whether one is read-only.
    context.schedules.jobs()
    context.connections.list()
    if context.connections.read_only_reason:
        return []
    if started_before:
        # Not a first start: the settings that said so were lost (a damaged settings.json set
        # aside, say). The user's connections are as they left them; deleted demos stay deleted.
        if not context.settings.read_only_reason:
            context.settings.set("first_run_done", True)
        return []
    source = context.paths.demo_dir / DEMO_SOURCE_FILE
    target = context.paths.demo_dir / DEMO_TARGET_FILE
    if not source.exists():
        create_demo_database(source)
    create_empty_database(target)
    added = []
    for name, path in ((DEMO_SOURCE_NAME, source), (DEMO_TARGET_NAME, target)):
        if context.connections.find(name) is None:
            context.connections.add(ConnectionProfile(name=name, type="sqlite", path=str(path)))
            added.append(name)
    context.settings.set("first_run_done", True)
    if not added:
        return []
    message = (f"Welcome: a demo shop database and the connections {', '.join(repr(n) for n in added)} "
               f"were created in {context.paths.demo_dir}")
    context.first_run_notices.append(message)
    return [message]
