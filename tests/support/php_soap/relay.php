<?php
// An independent SOAP receipt relay for dlrpoll's tests: PHP's own SoapServer, serving
// relay.wsdl (document/literal). State: see relay_lib.php.
// PullReceipts moves what it returns to read/ (destructive, at most 300 per call);
// PeekReceipt reads the oldest without moving it; ConfirmReceipt moves it.
ini_set('soap.wsdl_cache_enabled', '0');
require __DIR__ . '/relay_lib.php';

if (isset($_GET['wsdl'])) {
    header('Content-Type: text/xml; charset=utf-8');
    $endpoint = 'http://' . $_SERVER['HTTP_HOST'] . '/relay.php';
    echo str_replace('__ENDPOINT__', $endpoint, file_get_contents(__DIR__ . '/relay.wsdl'));
    exit;
}

function PullReceipts($p) {
    relay_check($p);
    $limit = (int)$p->limit;
    if ($limit <= 0 || $limit > 300) { $limit = 300; }
    [$out, $pending] = relay_take($limit);
    return ['result' => ['pending' => $pending, 'receipts' => ['receipt' => $out]]];
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
    relay_check($p);
    return ['ok' => relay_confirm($p->ref)];
}

$server = new SoapServer(__DIR__ . '/relay.wsdl', ['cache_wsdl' => WSDL_CACHE_NONE]);
$server->addFunction(['PullReceipts', 'PeekReceipt', 'ConfirmReceipt']);
$server->handle();
