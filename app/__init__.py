"""gradview's web app: code cells beside the live graph (`panel serve app/main.py`)."""

if __name__ == "app":   # the folder's own name, imported from a checkout: be gradview.app
    import gradview as _gradview
    _gradview.alias_checkout_folder(__name__)
