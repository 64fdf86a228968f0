-- The console's traffic charts read the documents updated in a window and
-- those still pending (store/traffic.go): an index for each half, so
-- neither scans every document the node ever kept.
CREATE INDEX documents_pending ON documents (seq) WHERE state IN ('accepted', 'sent');
