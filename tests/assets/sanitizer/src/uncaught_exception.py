"""Indexes past the end of a parsed record: an uncaught IndexError (written for Clearinghouse)."""

import sys


def parse_fields(line):
    return line.split(",")


def field(record, index):
    return parse_fields(record)[index]


def main():
    print("reading record", flush=True)
    print(field("alpha,beta", 1 + len(sys.argv)))


if __name__ == "__main__":
    main()
