"""The reader: a Streamlit dashboard over the store. It never writes the store."""
