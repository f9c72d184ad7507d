"""Patient education: the article library and its search, the printable care plan and the
calendar of doses and tests."""
