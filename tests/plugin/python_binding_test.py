"""The ctypes binding (plugin/python/headroom.py) under Debian's /usr/bin/python3, against a
running headroomd. Run by installed_test.cc with HEADROOM_LIBRARY, PYTHONPATH and
HEADROOM_TEST_MODELS (a glob of candidate GGUF files) set."""

import os
import threading
import unittest

import headroom


class BindingTest(unittest.TestCase):
    def test_abi_version_matches_major(self):
        self.assertEqual(headroom.abi_version() // 10000, headroom.ABI_MAJOR)

    def test_recommend_among_files(self):
        with headroom.Client() as client:
            rec = client.recommend(glob=os.environ["HEADROOM_TEST_MODELS"], min_ctx=4096)
        self.assertIsNotNone(rec.pick, rec.reason)
        pick = rec.pick
        self.assertTrue(pick.file.endswith(f"-{pick.file_type}.gguf"), pick.file)
        self.assertGreaterEqual(pick.n_ctx, 4096)
        self.assertIn(pick.verdict, ("FITS", "PARTIAL", "CPU_ONLY"))
        self.assertTrue(pick.meets_constraints)
        self.assertTrue(pick.devices and pick.devices[-1].is_host)
        self.assertGreater(pick.devices[-1].total_bytes, 0)
        self.assertTrue(rec.alternatives)
        files = {pick.file} | {a.file for a in rec.alternatives}
        self.assertEqual(len(files), 1 + len(rec.alternatives))

    def test_same_answer_as_an_explicit_file_list(self):
        import glob
        files = sorted(glob.glob(os.environ["HEADROOM_TEST_MODELS"]))
        with headroom.Client() as client:
            by_glob = client.recommend(glob=os.environ["HEADROOM_TEST_MODELS"])
            by_list = client.recommend(files=files)
        self.assertEqual(by_glob.pick, by_list.pick)

    def test_errors_raise_with_status_and_message(self):
        with headroom.Client() as client:
            with self.assertRaises(headroom.HeadroomError) as caught:
                client.recommend(files=["/nonexistent/x-Q4_K_M.gguf"])
        self.assertEqual(caught.exception.status, "NOT_FOUND")
        self.assertIn("request.model_files[0]: no such file", str(caught.exception))
        with self.assertRaises(ValueError):
            headroom.Client().recommend(glob="x", prefer="cheapest")

    def test_unreachable_endpoint(self):
        with headroom.Client(endpoint="127.0.0.1:1", autostart=False,
                             start_timeout_ms=200) as client:
            self.assertEqual(client.endpoint, "127.0.0.1:1")
            with self.assertRaises(headroom.HeadroomError) as caught:
                client.connect()
        self.assertEqual(caught.exception.status, "UNAVAILABLE")

    def test_one_client_from_threads(self):
        picks = []
        with headroom.Client() as client:
            def ask():
                picks.append(client.recommend(glob=os.environ["HEADROOM_TEST_MODELS"]).pick)
            threads = [threading.Thread(target=ask) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(len(picks), 4)
        self.assertTrue(all(p == picks[0] for p in picks))

    def test_report_run(self):
        with headroom.Client() as client:
            rec = client.recommend(glob=os.environ["HEADROOM_TEST_MODELS"])
            samples = client.report_run(rec.pick.file, n_ctx=rec.pick.n_ctx,
                                        n_gpu_layers=rec.pick.n_gpu_layers,
                                        devices={"host": 1 << 30}, decode_tok_s=10.0,
                                        runtime_version="python test")
        self.assertGreaterEqual(samples, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
