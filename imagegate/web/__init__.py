"""`imagegate serve`: the local web page (the app, its guard, request parsing, the checking thread).
"""
