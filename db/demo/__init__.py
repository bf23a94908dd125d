"""The demo portfolio generator (`creditdesk seed`)."""

from db.demo.generator import SeedOptions, SeedReport, reset_business_data, seed_demo_portfolio

__all__ = ["SeedOptions", "SeedReport", "reset_business_data", "seed_demo_portfolio"]
