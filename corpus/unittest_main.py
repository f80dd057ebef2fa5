# Checks unittest test discovery in __main__ (verbose names, failure report); timing line normalized.
import io
import re
import sys
import unittest


class Sample(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)

    def test_fail(self):
        self.assertEqual([1, 2], [1, 3], "lists differ")

    @unittest.skip("not today")
    def test_skipped(self):
        pass


stream = io.StringIO()
prog = unittest.main(testRunner=unittest.TextTestRunner(stream=stream, verbosity=2), exit=False)
print(re.sub(r"in \d+\.\d+s", "in <T>s", stream.getvalue()))
sys.exit(not prog.result.wasSuccessful())
