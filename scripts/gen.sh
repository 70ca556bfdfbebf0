#!/usr/bin/env bash
# Regenerate gen/ from protos/. Run from anywhere (`make gen` runs it); needs
# .venv (grpcio-tools, mypy-protobuf, googleapis-common-protos) and Node for
# protoc-gen-es. Deletes gen/ and writes it again; the output is deterministic
# (no timestamps, sorted inputs), so running it twice leaves no git diff and CI
# can fail when `make gen` changes anything.
#
# What it writes:
#   gen/python/finance/<area>/v1/*_pb2.py, *_pb2.pyi, *_pb2_grpc.py, *_pb2_grpc.pyi
#       Messages (protoc), gRPC stubs (grpc_tools), type stubs (mypy-protobuf).
#       Import strategy: modules import as `finance.expense.v1.expense_pb2`.
#       pyproject.toml installs gen/python as a second source root
#       (`[tool.setuptools.packages.find] where = [".", "gen/python"]`), and
#       `finance` is a PEP 420 namespace package, so no __init__.py files are
#       generated. The google.api / google.type / google.rpc modules the
#       generated code imports come from the googleapis-common-protos package
#       at run time; that package has no type stubs, so mypy-protobuf stubs
#       for the googleapis files we use are written beside ours
#       (gen/python/google/**/*_pb2.pyi, stubs only, never imported at run
#       time; pyproject's mypy_path = "gen/python" makes mypy see them).
#   gen/descriptor/finmesh.binpb
#       FileDescriptorSet of every proto plus all imports, with source info,
#       for Envoy's grpc_json_transcoder and the FastAPI gateway. It also holds
#       google/rpc/status.proto and error_details.proto so Envoy can render
#       rich error details (google.rpc.BadRequest, ErrorInfo) as JSON, and
#       google/rpc/code.proto for the canonical codes.
#   gen/ts/**/*_pb.ts
#       protobuf-es v2 message types for the frontend, including the
#       googleapis files ours import; the well-known types come from
#       @bufbuild/protobuf/wkt. Options: target=ts; json_types=true (typed
#       proto3 JSON, what Envoy and the gateway speak); erasable_syntax=true
#       (enums as `as const` objects, so tsconfig's erasableSyntaxOnly works).
#       Imports of @bufbuild/protobuf resolve from frontend/node_modules only
#       if the frontend's bundler/tsconfig maps them (gen/ts is outside it).
#   gen/googleapis/google/**.proto
#       Verbatim copies of the googleapis protos we import, taken from the
#       installed googleapis-common-protos package, so that `buf lint`,
#       `buf format` and `buf breaking` resolve imports offline (buf.yaml lists
#       this directory as a second module; no BSR dependency).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=.venv/bin/python
if [[ ! -x $PY ]]; then
  echo "gen.sh: $PY not found; create the venv first (make up / make dev)" >&2
  exit 1
fi

# Include paths: our protos, the googleapis-common-protos package root (for
# google/api, google/type, google/rpc) and grpc_tools' copy of the
# well-known types (google/protobuf).
GOOGLEAPIS_DIR=$("$PY" -c 'import os, google.api.annotations_pb2 as m; print(os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))')
WKT_DIR=$("$PY" -c 'import os, grpc_tools; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
PROTOC=("$PY" -m grpc_tools.protoc -Iprotos "-I$GOOGLEAPIS_DIR" "-I$WKT_DIR")

# protoc-gen-es from frontend/node_modules, installed from the lock file when
# missing or not the locked version.
ES_PLUGIN=frontend/node_modules/.bin/protoc-gen-es
locked_es=$(node -e 'console.log(require("./frontend/package-lock.json").packages["node_modules/@bufbuild/protoc-gen-es"].version)')
installed_es=$(node -e 'try { console.log(require("./frontend/node_modules/@bufbuild/protoc-gen-es/package.json").version) } catch { console.log("none") }')
if [[ ! -x $ES_PLUGIN || $installed_es != "$locked_es" ]]; then
  npm ci --prefix frontend --no-audit --no-fund >&2
fi

export LC_ALL=C
mapfile -t PROTOS < <(cd protos && find finance -name '*.proto' | sort)
if [[ ${#PROTOS[@]} -eq 0 ]]; then
  echo "gen.sh: no .proto files under protos/finance" >&2
  exit 1
fi

rm -rf gen
mkdir -p gen/python gen/descriptor gen/ts gen/googleapis

# 1. Descriptor set (everything, with imports and comments).
"${PROTOC[@]}" \
  --include_imports --include_source_info \
  --descriptor_set_out=gen/descriptor/finmesh.binpb \
  "${PROTOS[@]}" google/rpc/status.proto google/rpc/error_details.proto google/rpc/code.proto

# The googleapis files in the set (everything that is neither ours nor a
# well-known type): vendored for buf and generated for TypeScript.
mapfile -t GOOGLEAPIS < <("$PY" - <<'EOF'
from google.protobuf import descriptor_pb2

fds = descriptor_pb2.FileDescriptorSet()
with open("gen/descriptor/finmesh.binpb", "rb") as f:
    fds.ParseFromString(f.read())
for name in sorted(fd.name for fd in fds.file):
    if not name.startswith(("finance/", "google/protobuf/")):
        print(name)
EOF
)

# 2. Python messages, gRPC stubs and mypy stubs.
"${PROTOC[@]}" \
  --plugin=protoc-gen-mypy=.venv/bin/protoc-gen-mypy \
  --plugin=protoc-gen-mypy_grpc=.venv/bin/protoc-gen-mypy_grpc \
  --python_out=gen/python \
  --grpc_python_out=gen/python \
  --mypy_out=gen/python \
  --mypy_grpc_out=gen/python \
  --mypy_opt=quiet \
  --mypy_grpc_opt=quiet \
  "${PROTOS[@]}"

# Type stubs (only) for the googleapis modules, which ship without any.
"${PROTOC[@]}" \
  --plugin=protoc-gen-mypy=.venv/bin/protoc-gen-mypy \
  --mypy_out=gen/python \
  --mypy_opt=quiet \
  "${GOOGLEAPIS[@]}"

# 3. TypeScript (protobuf-es v2).
"${PROTOC[@]}" \
  "--plugin=protoc-gen-es=$ES_PLUGIN" \
  --es_out=gen/ts \
  --es_opt=target=ts,json_types=true,erasable_syntax=true \
  "${PROTOS[@]}" "${GOOGLEAPIS[@]}"

# 4. googleapis protos for buf.
for name in "${GOOGLEAPIS[@]}"; do
  mkdir -p "gen/googleapis/$(dirname "$name")"
  cp "$GOOGLEAPIS_DIR/$name" "gen/googleapis/$name"
done

cat > gen/README.md <<'EOF'
# gen/ — generated, do not edit

Written by `scripts/gen.sh` (`make gen`) from `protos/`; committed, and CI fails
if regenerating changes anything. See the comment at the top of
`scripts/gen.sh` for what each directory holds.
EOF

echo "gen.sh: generated ${#PROTOS[@]} protos into gen/ (python, ts, descriptor, googleapis)" >&2
