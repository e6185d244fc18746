<?php
// The receipt relay as an rpc/encoded service (relay_rpc.wsdl), PHP's own SoapServer in
// WSDL mode: the same queue as relay.php (see relay_lib.php), other calls.
// pullReceipts(account, apiKey, limit) moves what it returns to read/ (destructive, at most
// 300 per call) and returns it as a SOAP-ENC:Array of Receipt; peekReceipt(account, apiKey)
// returns the oldest Receipt without moving it (nil when there is none);
// confirmReceipt(account, apiKey, ref) moves it.
ini_set('soap.wsdl_cache_enabled', '0');
require __DIR__ . '/relay_lib.php';

if (isset($_GET['wsdl'])) {
    header('Content-Type: text/xml; charset=utf-8');
    $endpoint = 'http://' . $_SERVER['HTTP_HOST'] . '/relay_rpc.php';
    echo str_replace('__ENDPOINT__', $endpoint, file_get_contents(__DIR__ . '/relay_rpc.wsdl'));
    exit;
}

function rpc_check($account, $apiKey) {
    if (!relay_credentials_ok((string)$account, (string)$apiKey)) {
        throw new SoapFault('Client', 'unknown account or wrong apiKey');
    }
}

function rpc_receipt($r) {
    return ['ref' => $r['meta']['ref'], 'origin' => $r['meta']['origin'],
            'at' => $r['meta']['at'], 'text' => $r['text']];
}

function pullReceipts($account, $apiKey, $limit) {
    rpc_check($account, $apiKey);
    $limit = (int)$limit;
    if ($limit <= 0 || $limit > 300) { $limit = 300; }
    [$out, $_pending] = relay_take($limit);
    return array_map('rpc_receipt', $out);
}

function peekReceipt($account, $apiKey) {
    rpc_check($account, $apiKey);
    $lock = relay_lock();
    $names = relay_queue();
    $reply = $names ? rpc_receipt(relay_receipt($names[0])) : null;
    flock($lock, LOCK_UN);
    return $reply;
}

function confirmReceipt($account, $apiKey, $ref) {
    rpc_check($account, $apiKey);
    return relay_confirm($ref);
}

// PHP itself would fetch the imported standard schemas from their URLs (there is no network
// here); it knows SOAP-ENC and WSDL by namespace, so its own copy names no location
$own = "$state/relay_rpc.server.wsdl";
if (!file_exists($own)) {
    $wsdl = file_get_contents(__DIR__ . '/relay_rpc.wsdl');
    file_put_contents("$own.tmp", preg_replace('/\s+schemaLocation="[^"]*"/', '', $wsdl));
    rename("$own.tmp", $own);
}
$server = new SoapServer($own, ['cache_wsdl' => WSDL_CACHE_NONE]);
$server->addFunction(['pullReceipts', 'peekReceipt', 'confirmReceipt']);
$server->handle();
