<?php
// An independent SOAP receipt relay for dlrpoll's tests: PHP's own SoapServer, serving
// relay.wsdl (document/literal). State lives in files next to this script:
//   state/creds.json  {"account": ..., "apiKey": ...}
//   state/queue/REF.json, state/read/REF.json   one receipt each: {ref, origin, at, text}
// PullReceipts moves what it returns to read/ (destructive, at most 300 per call);
// PeekReceipt reads the oldest without moving it; ConfirmReceipt moves it.
ini_set('soap.wsdl_cache_enabled', '0');
$state = __DIR__ . '/state';

if (isset($_GET['wsdl'])) {
    header('Content-Type: text/xml; charset=utf-8');
    $endpoint = 'http://' . $_SERVER['HTTP_HOST'] . '/relay.php';
    echo str_replace('__ENDPOINT__', $endpoint, file_get_contents(__DIR__ . '/relay.wsdl'));
    exit;
}

function relay_check($p) {
    global $state;
    $creds = json_decode(file_get_contents("$state/creds.json"), true);
    if (!isset($p->account, $p->apiKey) || $p->account !== $creds['account']
        || $p->apiKey !== $creds['apiKey']) {
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

function PullReceipts($p) {
    global $state;
    relay_check($p);
    $limit = (int)$p->limit;
    if ($limit <= 0 || $limit > 300) { $limit = 300; }
    $lock = relay_lock();
    $names = relay_queue();
    $out = [];
    foreach (array_slice($names, 0, $limit) as $name) {
        $out[] = relay_receipt($name);
        rename("$state/queue/$name", "$state/read/$name");
    }
    flock($lock, LOCK_UN);
    return ['result' => ['pending' => count($names) - count($out),
                         'receipts' => ['receipt' => $out]]];
}

function PeekReceipt($p) {
    relay_check($p);
    $lock = relay_lock();
    $names = relay_queue();
    $reply = ['found' => false];
    if ($names) {
        $reply = ['found' => true, 'receipt' => relay_receipt($names[0])];
    }
    flock($lock, LOCK_UN);
    return $reply;
}

function ConfirmReceipt($p) {
    global $state;
    relay_check($p);
    if (!preg_match('/^[A-Za-z0-9_.-]+$/', (string)$p->ref)) {
        throw new SoapFault('Client', 'malformed ref');
    }
    $lock = relay_lock();
    $name = $p->ref . '.json';
    $ok = file_exists("$state/read/$name");
    if (file_exists("$state/queue/$name")) {
        $ok = rename("$state/queue/$name", "$state/read/$name");
    }
    flock($lock, LOCK_UN);
    return ['ok' => $ok];
}

$server = new SoapServer(__DIR__ . '/relay.wsdl', ['cache_wsdl' => WSDL_CACHE_NONE]);
$server->addFunction(['PullReceipts', 'PeekReceipt', 'ConfirmReceipt']);
$server->handle();
