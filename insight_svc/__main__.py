"""`python -m insight_svc`: run the service until SIGTERM."""

from finmesh.server import main
from insight_svc.server import app

main("insight_svc", app)
