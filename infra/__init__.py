"""Infrastructure: settings, PostgreSQL (external or embedded), the event store's wiring."""
