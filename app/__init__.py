"""gradview's web app: code cells beside the live graph (`panel serve app/main.py`)."""
