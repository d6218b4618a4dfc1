# Writes to standard error what Python's argparse prints for a parser with the
# Go parser's options, in its order (KServe's model_server.parser, then the Go
# extensions), plus the program's own flags; usage_test.go compares.
#   COLUMNS=80 python3 argparse_golden.py PROG USERFLAG[:int],... ARGS... 2> FILE
# As in a KServe program, KServe's parser (no -h) parses first, as
# "import kserve" does, then the program's (parents=[it], with -h).
# The usage only depends on each option's metavar (choices, store_true), not
# on its type, so types are given only where the error message needs them.
import argparse, sys, os
own = ["http_port","grpc_port","workers","max_threads","max_asyncio_workers","enable_grpc","enable_docs_url","enable_latency_logging","configure_logging","log_config_file","access_log_format","event-loop","timeout-keep-alive","model_name","predictor_host","protocol","predictor_protocol","predictor_use_ssl","predictor_request_timeout_seconds","grpc_max_send_message_length","grpc_max_receive_message_length","predictor_request_retries","enable_predictor_health_check","model_dir","grace_period","max_request_body_size","read_header_timeout","max_queued_requests","gc_min_heap"]
choices = {"event-loop":["auto","asyncio","uvloop"],"protocol":["v1","v2","grpc-v2"],"predictor_protocol":["v1","v2","grpc-v2"]}
parent = argparse.ArgumentParser(add_help=False)
for n in own:
    if n == "enable_predictor_health_check":
        parent.add_argument("--"+n, action="store_true")
    elif n in ("http_port","grpc_port","workers"):
        parent.add_argument("--"+n, type=int, choices=choices.get(n))
    else:
        parent.add_argument("--"+n, choices=choices.get(n))
prog = sys.argv[1]
parent.prog = prog
parent.parse_known_args(sys.argv[3:])
p = argparse.ArgumentParser(prog=prog, parents=[parent])
for n in sys.argv[2].split(",") if sys.argv[2] else []:
    name, _, typ = n.partition(":")
    p.add_argument("--"+name, type=int if typ == "int" else None)
p.parse_known_args(sys.argv[3:])
