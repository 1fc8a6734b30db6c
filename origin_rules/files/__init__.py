"""Files: reading every BOM format (YAML, JSON, JSON Lines, CSV, XLSX) into the model.

Above the model, below everything that reads BOMs (the rulebook's tests, batch, diff, CLI).
"""
