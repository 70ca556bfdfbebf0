"""`python -m expense_svc`: run the service until SIGTERM."""

from expense_svc.server import app
from finmesh.server import main

main("expense_svc", app)
