#!/bin/bash
# Captures the logfmt logs of one short Prometheus + Alertmanager run on
# loopback (ports 19190+10*N), with a SIGHUP reload after 20 s and SIGTERM
# after 42 s. Argument: the run number N.
i=$1; d=${OUT:-/tmp/logcap}/run$i; rm -rf $d; mkdir -p $d; cd $d
pp=$((19190+i*10)); ap=$((19193+i*10))
sed "s/19090/$pp/; s/19093/$ap/; s/scrape_interval: 2s/scrape_interval: 1s/" ../prom.yml > prom.yml
cp ../rules.yml .
cp ../am.yml .
/usr/bin/prometheus-alertmanager --config.file=am.yml --storage.path=$d/am --web.listen-address=127.0.0.1:$ap --cluster.listen-address= --log.level=debug > am.log 2>&1 &
apid=$!
/usr/bin/prometheus --config.file=prom.yml --storage.tsdb.path=$d/data --web.listen-address=127.0.0.1:$pp --log.level=debug > prom.log 2>&1 &
ppid=$!
sleep 20; kill -HUP $ppid $apid
sleep 22; kill -TERM $ppid; sleep 3; kill -TERM $apid
wait
# Usage (as used for tests/fixtures/logs/): put prom.yml, rules.yml and am.yml
# (see tests/fixtures/logs/README.md) in $OUT, then run this script with
# 1, 2 and 3 in parallel and concatenate $OUT/run*/prom.log and am.log.
