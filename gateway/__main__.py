"""`python -m gateway`: serve the JSON gateway until SIGTERM."""

from gateway.server import main

main()
