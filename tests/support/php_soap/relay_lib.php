<?php
// What both relays share (relay.php, document/literal; relay_rpc.php, rpc/encoded): the
// credentials, the lock, and the queue of receipts in files next to the scripts:
//   state/creds.json  {"account": ..., "apiKey": ...}
//   state/queue/REF.json, state/read/REF.json   one receipt each: {ref, origin, at, text}
$state = __DIR__ . '/state';

function relay_credentials_ok($account, $apiKey) {
    global $state;
    $creds = json_decode(file_get_contents("$state/creds.json"), true);
    return $account === $creds['account'] && $apiKey === $creds['apiKey'];
}

function relay_check($p) {
    if (!isset($p->account, $p->apiKey) || !relay_credentials_ok($p->account, $p->apiKey)) {
        throw new SoapFault('Client', 'unknown account or wrong apiKey');
    }
}

function relay_lock() {
    global $state;
    $fh = fopen("$state/lock", 'c');
    flock($fh, LOCK_EX);
    return $fh;
}

function relay_queue() {
    global $state;
    $names = array_values(array_filter(scandir("$state/queue"), function ($n) {
        return substr($n, -5) === '.json';
    }));
    sort($names, SORT_STRING);
    return $names;
}

function relay_receipt($name) {
    global $state;
    $r = json_decode(file_get_contents("$state/queue/$name"), true);
    return ['meta' => ['ref' => $r['ref'], 'origin' => $r['origin'], 'at' => $r['at']],
            'text' => $r['text']];
}

// moves the oldest ``$limit`` receipts to read/ and returns them (the destructive pull)
function relay_take($limit) {
    global $state;
    $lock = relay_lock();
    $names = relay_queue();
    $out = [];
    foreach (array_slice($names, 0, $limit) as $name) {
        $out[] = relay_receipt($name);
        rename("$state/queue/$name", "$state/read/$name");
    }
    flock($lock, LOCK_UN);
    return [$out, count($names) - count($out)];
}

// marks one receipt read; true when it is (again) read
function relay_confirm($ref) {
    global $state;
    if (!preg_match('/^[A-Za-z0-9_.-]+$/', (string)$ref)) {
        throw new SoapFault('Client', 'malformed ref');
    }
    $lock = relay_lock();
    $name = $ref . '.json';
    $ok = file_exists("$state/read/$name");
    if (file_exists("$state/queue/$name")) {
        $ok = rename("$state/queue/$name", "$state/read/$name");
    }
    flock($lock, LOCK_UN);
    return $ok;
}
