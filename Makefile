# tango-bench: one Makefile, per-configuration build directories, honest feature detection.
#
#   make              build build/tango-bench (CPU: reference kernels + OpenBLAS/OpenMP)
#   make test         build and run the whole suite; ends with "N passed, N failed, N skipped"
#   make asan         the same suite under AddressSanitizer + UBSan (objects in build/asan)
#   make bench        run the benchmarks (ratios against a baseline measured in the same run)
#   make fuzz         build the libFuzzer harnesses (clang) and run each for FUZZ_SECONDS (60)
#   make demo         run the embedded default job
#   make CUDA=1       also compile the CUDA sources with nvcc and link cudart/cublas
#   make info         print the detected features
#
# BUILD=dir puts objects and binaries elsewhere (several builds may run side by side).

CC      ?= cc
NVCC    ?= nvcc
CUDA    ?= 0
DEBUG   ?= 0
SANITIZE ?=
PYTHON  ?= /usr/bin/python3
# Idle OpenMP threads sleep instead of spinning (see harness/main.c); tests and benchmarks are
# separate programs, so they get it from the environment.
export OMP_WAIT_POLICY ?= passive

ifeq ($(SANITIZE),)
  BUILD ?= build
else
  BUILD ?= build/asan
endif

VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

PKGS := sqlite3 libcurl libcjson libavformat libavcodec libswscale libavutil libcrypto libpcre2-8 openblas \
        libzip libxml-2.0

CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wno-missing-field-initializers
OPT     := $(if $(filter 1,$(DEBUG)),-O0 -g,-O2 -g)
DEFS    := -DTB_VERSION=\"$(VERSION)\" -DTB_GIT_REV=\"$(GIT_REV)\" -UNDEBUG
INC      = -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(DEFS) $(INC) -fopenmp -MMD -MP
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libunistring (Unicode properties and case mapping for the answer scorers) ships no .pc file.
LDLIBS  += $(PKG_LIBS) -lunistring -fopenmp -lm -lpthread

ifneq ($(SANITIZE),)
  CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=$(SANITIZE)
endif
# make fuzz builds the library again with coverage instrumentation for libFuzzer.
CFLAGS += $(FUZZ_CFLAGS)

# Library sources: every .c in the module folders, except the CLI entry point. CUDA builds swap
# each *_cuda_stub.c for the .cu file of the same stem.
MODULES   := common engine datasets tango baselines store reports harness
LIB_SRC   := $(filter-out harness/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
CU_SRC    := $(foreach m,$(MODULES),$(wildcard $(m)/*.cu))
ifeq ($(CUDA),1)
  LIB_SRC := $(filter-out %_cuda_stub.c,$(LIB_SRC))
  CUDA_ARCH ?= 80
  CFLAGS  += -DTB_CUDA=1
  LDLIBS  += -L/usr/local/cuda/lib64 -lcudart -lcublas -lstdc++
  OUT     := $(BUILD)/cuda
  CU_OBJ  := $(CU_SRC:%.cu=$(OUT)/obj/%.cu.o)
else
  OUT     := $(BUILD)
  CU_OBJ  :=
endif
LIB_OBJ   := $(LIB_SRC:%.c=$(OUT)/obj/%.o) $(CU_OBJ)
LIB       := $(OUT)/libtango.a
BIN       := $(OUT)/tango-bench

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(OUT)/tests/%)
BENCH_SRC := $(wildcard tests/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(OUT)/tests/%)
# libFuzzer harnesses: each is also linked with tests/fuzz/replay.c into a suite program that
# replays its seed corpus and past crash inputs (tests/fuzz_replay.sh).
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_HDR   := $(wildcard tests/fuzz/*.h)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(OUT)/tests/fuzz/replay_%)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_CC    ?= clang
INSTALL_DEPS ?= scripts/install-deps

.DEFAULT_GOAL := all

# Rebuild what embeds the git revision only when the revision changes.
REV_STAMP := $(OUT)/git-rev.txt
$(shell mkdir -p $(OUT); echo $(GIT_REV) | cmp -s - $(REV_STAMP) 2>/dev/null || echo $(GIT_REV) > $(REV_STAMP))
$(OUT)/obj/harness/build_info.o $(OUT)/obj/harness/main.o: $(REV_STAMP)

.PHONY: all deps test asan bench demo info help clean cuda-check fuzz fuzz-bin
all: deps $(BIN)

# install-deps is idempotent and takes a fraction of a second when everything is present. Every
# compile waits for it (an order-only prerequisite): with make -j a compile that started first
# found no curl/curl.h on a fresh machine. INC and PKG_LIBS are expanded when a recipe runs, after.
deps:
	@$(INSTALL_DEPS)

$(OUT)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/obj/%.cu.o: %.cu | deps
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -std=c++17 -arch=sm_$(CUDA_ARCH) -I. -DTB_CUDA=1 -c $< -o $@

# the published-values registry is assembled into the report code (.incbin)
$(OUT)/obj/reports/report_paper.o: reports/paper_values.tsv

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(OUT)/obj/harness/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests/%: tests/%.c $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) -o $@ $(LDLIBS) -lcmocka

# The allocation-failure test routes every allocation of the library through its own counting
# allocator (tests/test_alloc_fail.c); only that binary is linked so.
ALLOC_WRAP := malloc calloc realloc free strdup strndup aligned_alloc
$(OUT)/tests/test_alloc_fail: LDFLAGS += $(foreach f,$(ALLOC_WRAP),-Wl,--wrap=$(f))

$(OUT)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDR) $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay.c $(LIB) -o $@ $(LDLIBS)

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $< $(LIB) -o $@ $(LDLIBS)

# tango/ and baselines/ link on their own (common/ below them, OpenBLAS for the GEMM distances):
# no harness/, engine/, datasets/ or store/ object may be needed.
PRUNER_OBJ := $(filter $(OUT)/obj/common/% $(OUT)/obj/tango/% $(OUT)/obj/baselines/%,$(LIB_OBJ))
$(OUT)/tests/test_pruners_alone: tests/test_pruners_alone.c $(PRUNER_OBJ) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(PRUNER_OBJ) -o $@ $(shell pkg-config --libs openblas libcrypto 2>/dev/null) \
	    -fopenmp -lm -lcmocka

test: deps $(BIN) $(TEST_BIN) $(REPLAY_BIN)
	@TB_BUILD=$(OUT) PYTHON=$(PYTHON) scripts/run-tests $(OUT)

asan:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(BUILD)/asan test

# The harnesses with clang's libFuzzer, AddressSanitizer and UBSan (objects in build/fuzz), then
# scripts/fuzz runs each for FUZZ_SECONDS on a copy of its seed corpus; a crash input lands in
# build/fuzz/crashes/<harness>/ and fails the target (copy it to tests/fuzz/crashes/<harness>/
# with the fix, and the suite replays it from then on).
fuzz: deps
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) SANITIZE=address,undefined BUILD=build/fuzz \
	    FUZZ_CFLAGS="-fsanitize=fuzzer-no-link -Wno-pass-failed" fuzz-bin
	@scripts/fuzz build/fuzz $(FUZZ_SECONDS)

fuzz-bin: $(FUZZ_BIN)

# Every benchmark runs even when an earlier one misses its target; the exit status reports misses.
bench: deps $(BIN) $(BENCH_BIN)
	@failed=""; for b in $(BENCH_BIN); do echo "== $$b"; $$b || failed="$$failed $$(basename $$b)"; done; \
	if [ -n "$$failed" ]; then echo "benchmarks that failed:$$failed"; exit 1; fi

demo: deps $(BIN)
	@scripts/demo $(OUT)

cuda-check:
	@$(MAKE) --no-print-directory CUDA=1 all

info:
	@echo "tango-bench $(VERSION) ($(GIT_REV))"
	@for p in $(PKGS); do if pkg-config --exists $$p; then echo "  ✓ $$p $$(pkg-config --modversion $$p)"; else echo "  ✗ $$p"; fi; done
	@if command -v $(NVCC) >/dev/null; then echo "  ✓ nvcc (make CUDA=1)"; else echo "  ✗ nvcc"; fi
	@if pkg-config --exists cmocka; then echo "  ✓ cmocka (tests)"; else echo "  ✗ cmocka (tests)"; fi
	@if [ -f /usr/include/unicase.h ]; then echo "  ✓ libunistring"; else echo "  ✗ libunistring"; fi

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

clean:
	rm -rf build

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
