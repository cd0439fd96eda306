#!/usr/bin/env bash
# The same story as test_demo.sh on DynamoDB: ./scripts/demo --dynamodb
# starts dynalite, creates the table with `hsdo-agent --create-table`, and
# runs the server and the client against it.
HSDO_DEMO_ARGS=--dynamodb exec bash "$(dirname "$0")/test_demo.sh"
