"""The dashboard (issue 10): a Streamlit page over the PostgreSQL tables both jobs load.

``queries`` holds every SQL statement (read-only), ``app`` lays the page out, ``__main__`` is the
command line (``python -m lakeprep.dashboard --config conf/local.yaml --port 8501``).
"""
