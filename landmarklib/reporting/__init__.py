"""Regenerating the report: running notebooks, writing LaTeX and README tables.

Owns the papermill runner and LaTeX generation (``report``) and the one setup
call every notebook makes (``notebook``). The top layer: may import all others.
"""
