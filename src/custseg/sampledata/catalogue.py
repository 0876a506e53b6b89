"""The shop's catalogue of a generated order-line log: a few hundred products with codes,
descriptions, prices and popularity (the same for every seed), the non-product codes beside
them, and the draws of products and pack sizes from it."""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

__all__ = [
    "CATALOGUE_SIZE", "NON_PRODUCT_CODES", "PACK_SIZES", "TEXT", "catalogue", "draw_products", "non_product",
    "product_cdf", "snap_to_packs",
]

TEXT = pa.large_string()  # what pandas keeps its str columns in
# Units per order line snap to the pack sizes a shop sells.
PACK_SIZES = np.array(
    [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 25, 30, 32, 36, 48, 50, 60, 64, 72, 80, 96, 100,
     120, 144, 150, 192, 200, 240, 288, 300, 384, 400, 480, 500, 576, 600, 720, 960, 1000]
)  # fmt: skip
# Non-product codes (postage, carriage, manual adjustments) appear beside the catalogue.
NON_PRODUCT_CODES = (
    ("POST", "POSTAGE"),
    ("C2", "CARRIAGE"),
    ("DOT", "DOTCOM POSTAGE"),
    ("M", "Manual"),
)

# The shop's catalogue: word lists combined into a few hundred products with prices.
CATALOGUE_SIZE = 320
CATALOGUE_SEED = 536365  # the catalogue is the same for every random_state
CATALOGUE_ITEMS = (
    ("T-LIGHT HOLDER", 2.95),
    ("HANGING LANTERN", 3.75),
    ("COAT HANGER", 2.75),
    ("HOT WATER BOTTLE", 4.25),
    ("LUNCH BAG", 1.65),
    ("JUMBO BAG", 2.08),
    ("CAKE STAND", 9.95),
    ("WALL CLOCK", 8.50),
    ("PHOTO FRAME", 2.55),
    ("MUG", 1.25),
    ("PAPER NAPKINS", 0.85),
    ("WRAPPING PAPER", 0.42),
    ("DOORMAT", 7.95),
    ("CUSHION COVER", 3.75),
    ("TEA SET", 4.95),
    ("PARTY BUNTING", 4.95),
    ("STORAGE TIN", 3.25),
    ("CHILDRENS APRON", 1.95),
    ("KEY RING", 0.65),
    ("FAIRY LIGHTS", 5.95),
    ("NOTEBOOK", 1.65),
    ("SHOPPING BAG", 1.25),
    ("SCENTED CANDLE", 0.85),
    ("BAKING SET", 4.95),
    ("DOOR STOP", 4.25),
    ("CHALKBOARD", 4.95),
    ("TRINKET BOX", 1.25),
    ("PLASTERS IN TIN", 1.65),
    ("RECIPE BOX", 2.95),
    ("PICNIC BASKET", 12.75),
    ("GARDEN SIGN", 2.10),
    ("WICKER HAMPER", 19.95),
    ("GLASS CHANDELIER", 24.95),
    ("WOODEN PLANTER", 14.95),
    ("CERAMIC JUG", 6.35),
    ("GIFT TAPE", 0.29),
    ("PENCIL SET", 0.39),
    ("EGG CUP", 1.25),
    ("TISSUE BOX", 1.45),
    ("STRING OF BEADS", 0.55),
)
CATALOGUE_COLOURS = (
    "WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "CREAM", "VINTAGE", "RETRO",
    "PAISLEY", "SILVER", "GOLD", "PASTEL",
)  # fmt: skip
CATALOGUE_MOTIFS = (
    "HEART", "SPOTTY", "FLORAL", "STAR", "BIRD", "ROSE", "CHRISTMAS", "UNION JACK", "POLKADOT",
    "REGENCY", "DOLLY GIRL", "SPACEBOY", "LOVE", "SKULL", "STRAWBERRY", "OWL",
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def catalogue() -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """Stock codes, descriptions, prices and popularity of the products, then the
    non-product codes (`NON_PRODUCT_CODES`, price 0: set per line).

    Examples
    --------
    >>> codes, descriptions, price, popularity = catalogue()
    >>> len(codes) == CATALOGUE_SIZE + len(NON_PRODUCT_CODES), popularity.size == CATALOGUE_SIZE
    (True, True)
    """
    rng = np.random.default_rng(CATALOGUE_SEED)
    n_combinations = len(CATALOGUE_ITEMS) * len(CATALOGUE_COLOURS) * len(CATALOGUE_MOTIFS)
    picked = rng.choice(n_combinations, size=CATALOGUE_SIZE, replace=False)
    item, rest = np.divmod(picked, len(CATALOGUE_COLOURS) * len(CATALOGUE_MOTIFS))
    colour, motif = np.divmod(rest, len(CATALOGUE_MOTIFS))
    base = np.array([price for _, price in CATALOGUE_ITEMS])[item]
    price = base * rng.uniform(0.8, 1.25, CATALOGUE_SIZE)
    # Shop prices: to the cent below one pound, to five pence above.
    price = np.where(price < 1.0, np.round(price, 2), np.round(price * 20) / 20)
    numbers = rng.choice(np.arange(20000, 90000), size=CATALOGUE_SIZE, replace=False)
    letters = rng.choice(list("ABCDEFGHJKLMNPRSW"), CATALOGUE_SIZE)
    suffix = np.where(rng.random(CATALOGUE_SIZE) < 0.25, letters, "")  # colour variants
    codes = [f"{n}{s}" for n, s in zip(numbers.tolist(), suffix.tolist(), strict=True)]
    descriptions = [
        f"{CATALOGUE_COLOURS[c]} {CATALOGUE_MOTIFS[m]} {CATALOGUE_ITEMS[i][0]}"
        for i, c, m in zip(item.tolist(), colour.tolist(), motif.tolist(), strict=True)
    ]
    popularity = 1.0 / np.arange(1, CATALOGUE_SIZE + 1) ** 0.4
    popularity = rng.permutation(popularity)
    codes += [code for code, _ in NON_PRODUCT_CODES]
    descriptions += [text for _, text in NON_PRODUCT_CODES]
    price = np.concatenate([price, np.zeros(len(NON_PRODUCT_CODES))])
    for array in (price, popularity):
        array.flags.writeable = False
    return pa.array(codes, TEXT), pa.array(descriptions, TEXT), price, popularity


def non_product(code: str) -> int:
    """Catalogue index of a non-product code.

    Examples
    --------
    >>> non_product("POST") == CATALOGUE_SIZE
    True
    """
    return CATALOGUE_SIZE + [c for c, _ in NON_PRODUCT_CODES].index(code)



def snap_to_packs(units: np.ndarray) -> np.ndarray:
    """The pack size nearest to each value, on a log scale.

    Examples
    --------
    >>> snap_to_packs(np.array([0.4, 7.0, 11.0, 130.0])).tolist()
    [1, 8, 12, 120]
    """
    bounds = np.sqrt(PACK_SIZES[:-1] * PACK_SIZES[1:])
    return PACK_SIZES[np.searchsorted(bounds, units)].astype(np.int64)


def draw_products(
    rng: np.random.Generator, cum: np.ndarray, size: int | tuple[int, int]
) -> np.ndarray:
    """Catalogue indices drawn from the cumulative product weights ``cum``."""
    return np.minimum(np.searchsorted(cum, rng.random(size), side="right"), CATALOGUE_SIZE - 1)


def product_cdf(cheapness: float) -> np.ndarray:
    """Cumulative product weights: popularity tilted by price**-cheapness."""
    _, _, price, popularity = catalogue()
    weights = popularity * price[:CATALOGUE_SIZE] ** -cheapness
    return np.cumsum(weights / weights.sum())
