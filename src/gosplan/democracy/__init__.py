"""Councils decide: participatory budgets, delegate elections, recall, votes and the ledger.

The modules of this package are independent of each other's internals: `pabulib` reads and
writes budget elections, `budgeting` turns an election into funded projects, `committees`
elects delegates and handles recall; the council, ledger and aggregation modules live beside
them. Import what you need from the module itself (this file imports nothing, so that
`import gosplan.democracy` stays free).
"""
