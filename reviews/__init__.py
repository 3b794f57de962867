"""Access review campaigns (quarterly certification). Its models arrive with the campaigns issue."""
