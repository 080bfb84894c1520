"""The store: tables, migrations and the queries that read and write them.

Only this package talks SQL. Writes that decide an item's fate are single conditional statements,
so a job delivered twice or two reviewers racing can never produce a second final label.
"""
