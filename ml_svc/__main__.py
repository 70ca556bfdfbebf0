"""`python -m ml_svc`: run the service until SIGTERM."""

from finmesh.server import main
from ml_svc.server import app

main("ml_svc", app)
