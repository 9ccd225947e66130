# selfheal — the two commands a new user needs:
#   make demo   the whole pipeline locally (moto, a Slack stand-in, serve, report)
#   make test   every test: unit, property, moto end to end, template checks
.PHONY: demo test test-rust lint infra validate deny bench

export CARGO_TERM_COLOR ?= auto

demo:
	@bash scripts/ensure-venv.sh
	cargo run -q -p selfheal -- demo

test: lint test-rust validate deny infra

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --features selfheal/failpoints -- -D warnings

test-rust:
	@bash scripts/ensure-venv.sh
	@bash scripts/ensure-chromium.sh
	SELFHEAL_REQUIRE_MOTO=1 SELFHEAL_REQUIRE_CHROMIUM=1 cargo test --workspace --features selfheal/failpoints

validate:
	cargo run -q -p selfheal -- validate runbooks/

deny:
	bash scripts/deny.sh

infra:
	bash infra/check.sh

bench:
	cargo bench -p selfheal-core
