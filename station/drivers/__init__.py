"""Device drivers: the only place (besides the virtual cart) that imports device libraries."""
