"""Data in and out: spectrum files (:mod:`.spectrum`, the format readers in :mod:`.readers`),
preprocessing, and the Zarr stores of fits (:mod:`.store` on :mod:`.zarrio`)."""
