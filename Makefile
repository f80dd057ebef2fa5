# The two commands of the README; everything else is in scripts/dev.
.PHONY: demo test build bench setup

demo:
	scripts/dev demo

test:
	scripts/dev test

build:
	scripts/dev build

bench:
	scripts/dev bench

setup:
	scripts/dev setup
