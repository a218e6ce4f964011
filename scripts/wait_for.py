"""Exit 0 when a service answers: ``wait_for.py postgres URL`` or ``wait_for.py redis URL``."""

import sys
import time


def postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3) as conn:
        conn.execute("SELECT 1")


def redis(url: str) -> None:
    import redis as redis_lib

    redis_lib.Redis.from_url(url, socket_connect_timeout=3).ping()


def main() -> int:
    kind, url = sys.argv[1], sys.argv[2]
    check = {"postgres": postgres, "redis": redis}[kind]
    for _attempt in range(3):
        try:
            check(url)
        except Exception as error:
            last = error
            time.sleep(1)
        else:
            return 0
    print(f"{kind} not reachable: {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
