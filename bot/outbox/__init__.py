"""The outbox: typed events written with each state change, and the worker that delivers them."""
