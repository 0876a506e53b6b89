"""Sample data: generated customer tables and order-line logs with planted segments, for the
demo, the tests and the benchmarks.

Modules, each importing only those above it:

- `custseg.sampledata.customers`: customer tables from archetypes (`generate_customers`);
- `custseg.sampledata.moves`: a later snapshot in which known customers changed segment
  (`move_customers`);
- `custseg.sampledata.mixed`: numeric and categorical columns (`generate_mixed_customers`);
- `custseg.sampledata.catalogue`, `custseg.sampledata.buyers`, `custseg.sampledata.orders`:
  the shop's products, who buys when and where, and the orders and their lines;
- `custseg.sampledata.transactions`: the order-line log (`generate_transactions`);
- `custseg.sampledata.files`: `write_table`, any table to a file, atomically.

The public names are re-exported here (defined in the modules above).
"""

from .buyers import BUYER_ARCHETYPES, BuyerArchetype
from .customers import ARCHETYPES, Archetype, generate_customers
from .files import write_table
from .mixed import MIXED_SCENARIOS, generate_mixed_customers
from .moves import move_customers
from .transactions import generate_transactions

__all__ = [
    "ARCHETYPES",
    "BUYER_ARCHETYPES",
    "MIXED_SCENARIOS",
    "Archetype",
    "BuyerArchetype",
    "generate_customers",
    "generate_mixed_customers",
    "generate_transactions",
    "move_customers",
    "write_table",
]
