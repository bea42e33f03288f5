"""landaudit: the data pipeline of the industrial-land governance campaign (工业全域治理)."""

__version__ = "0.1.0"
