"""Exercise specs, one module per lesson; importing this package registers them all."""
