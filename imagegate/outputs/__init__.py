"""Files made for people: previews with every face boxed, the review sheet, the HTML templates.
"""
