package slack

// Unexported functions under test.
var (
	Verify    = verify
	PlainText = plainText
)
